"""Workload kinds (bot/workloads/base.py: the seam). `build` is the one place that makes them;
a new kind is one module here plus its line in KINDS."""
from __future__ import annotations

from typing import Callable

from bot.adapters.kube import Kube

from .argo_rollouts import ArgoRollouts
from .base import Workload
from .deployments import Deployments
from .kruise_rollouts import KruiseRollouts

__all__ = ["KINDS", "Workload", "WorkloadOf", "build"]

WorkloadOf = Callable[..., Workload]     # (cluster, kind="deployment") -> that kind's workload there
KINDS: dict[str, Callable[[Kube], Workload]] = {"deployment": Deployments, "argo-rollout": ArgoRollouts,
                                                  "kruise-rollout": KruiseRollouts}


def build(kind: str, kube: Kube) -> Workload:
    return KINDS[kind](kube)
