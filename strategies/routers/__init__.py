"""Traffic routers: one small class each, chosen by apps.yaml `router:` or `--router`.

Every router answers the same six steps, called by the canary/A-B strategies in this order:
prepare (once) -> route (each stage, after the new pods are ready) -> promote -> [old version
deleted] -> retire on success; revert -> [new version deleted] -> tidy on rollback.
"""
from __future__ import annotations

from typing import Protocol

from bot.kube import Kube
from bot.model import Release, Stage
from bot.plans import Target
from bot.settings import AppSpec


class Router(Protocol):
    name: str
    exact_weights: bool      # False: the share is the pod ratio (no router in front)

    def origin(self, kube: Kube, target: Target) -> dict: ...
    def prepare(self, kube: Kube, app: AppSpec, release: Release) -> None: ...
    def route(self, kube: Kube, app: AppSpec, release: Release, stage: Stage) -> None: ...
    def promote(self, kube: Kube, app: AppSpec, release: Release) -> None: ...
    def retire(self, kube: Kube, app: AppSpec, release: Release) -> None: ...
    def revert(self, kube: Kube, app: AppSpec, release: Release) -> None: ...
    def tidy(self, kube: Kube, app: AppSpec, release: Release) -> None: ...


def build_router(name: str) -> Router:
    from .istio import IstioRouter
    from .nginx import NginxRouter
    from .replicas import ReplicasRouter

    routers = {"replicas": ReplicasRouter, "nginx": NginxRouter, "istio": IstioRouter}
    return routers[name]()


def match_of(release: Release) -> dict | None:
    """The A/B match rule ({kind, name, value}) the release carries, if any."""
    return release.options.get("match") or None
