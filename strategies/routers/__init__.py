"""Traffic routers: one small class each, chosen by apps.yaml `router:` or `--router`; the
names are bot.domain.names.ROUTERS, and `build_router` is the one place that makes them.

Every router answers the same six steps, called by the canary/A-B strategies in this order:
prepare (each pass) -> route (each stage, after the new pods are ready) -> promote -> [old version
deleted] -> retire on success; revert -> [new version deleted] -> tidy on rollback.
"""
from __future__ import annotations

import dataclasses

from typing import Protocol

from bot.adapters.kube import Kube
from bot.domain.apps import AppSpec
from bot.domain.model import Release, Stage
from bot.domain.names import ROUTERS
from bot.domain.plans import Progress, Target


class Router(Protocol):
    name: str
    exact_weights: bool      # False: the share is the pod ratio (no router in front)

    def origin(self, kube: Kube, target: Target) -> dict: ...
    def mirror_problem(self, kube: Kube, target: Target) -> str:
        """Why this router cannot copy requests to a shadow of `target` ("" when it can)."""
    def prepare(self, kube: Kube, app: AppSpec, release: Release) -> None: ...
    def route(self, kube: Kube, app: AppSpec, release: Release, stage: Stage) -> Progress | None:
        """Send the stage's share; None once applied, else what the stage still waits for."""
    def promote(self, kube: Kube, app: AppSpec, release: Release) -> None: ...
    def retire(self, kube: Kube, app: AppSpec, release: Release) -> None: ...
    def revert(self, kube: Kube, app: AppSpec, release: Release) -> None: ...
    def tidy(self, kube: Kube, app: AppSpec, release: Release) -> None: ...


def router_classes() -> dict[str, type]:
    from .gateway import GatewayRouter
    from .istio import IstioRouter
    from .nginx import NginxRouter
    from .replicas import ReplicasRouter

    classes = {c.name: c for c in (ReplicasRouter, GatewayRouter, NginxRouter, IstioRouter)}
    assert tuple(classes) == ROUTERS, "bot.domain.names.ROUTERS and the router classes must agree"
    return classes


def build_router(name: str) -> Router:
    return router_classes()[name]()


def match_of(release: Release) -> dict | None:
    """The A/B match rule ({kind, name, value, regex}) the release carries, if any."""
    match = release.command.match
    return dataclasses.asdict(match) if match else None
