"""Workload kinds (bot/workloads/base.py: the seam). `build` is the one place that makes them;
a new kind is one module here plus its line in KINDS."""
from __future__ import annotations

from bot.adapters.kube import Kube

from .base import Workload
from .deployments import Deployments

__all__ = ["KINDS", "Workload", "build"]

KINDS = {"deployment": Deployments}


def build(kind: str, kube: Kube) -> Workload:
    return KINDS[kind](kube)
