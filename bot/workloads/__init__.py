"""Workload kinds (bot/workloads/base.py: the seam). `build` is the one place that makes them;
a new kind is one module here plus its line in KINDS."""
from __future__ import annotations

from typing import Callable

from bot.adapters.flaggergates import FlaggerGates
from bot.adapters.kube import Kube

from .argo_rollouts import ArgoRollouts
from .base import Workload
from .deployments import Deployments
from .flagger_canaries import FlaggerCanaries
from .kruise_rollouts import KruiseRollouts

__all__ = ["KINDS", "Workload", "WorkloadOf", "build"]

WorkloadOf = Callable[..., Workload]     # (cluster, kind="deployment") -> that kind's workload there
# each made from the cluster's client and the Flagger gates (which only a Flagger Canary uses)
KINDS: dict[str, Callable[[Kube, FlaggerGates | None], Workload]] = {
    "deployment": lambda kube, _gates: Deployments(kube),
    "argo-rollout": lambda kube, _gates: ArgoRollouts(kube),
    "kruise-rollout": lambda kube, _gates: KruiseRollouts(kube),
    "flagger-canary": FlaggerCanaries,
}


def build(kind: str, kube: Kube, gates: FlaggerGates | None = None) -> Workload:
    return KINDS[kind](kube, gates)
