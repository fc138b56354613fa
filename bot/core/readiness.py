"""What a release's live message shows of the cluster now: ready pods per side, or, for a
workload whose controller owns the steps (Argo Rollouts, Flagger, Kruise), that controller's own
account. A read, never a change; empty when the cluster does not answer."""
from __future__ import annotations

from typing import cast

from bot.adapters.kube import KubeError
from bot.domain.model import Release
from bot.workloads.base import Controller

from .engine import Engine


def ready_counts(engine: Engine, release: Release) -> dict:
    """Ready pods now, per side (for the live message); empty when the cluster is unreachable."""
    workload = engine.workload_for(release)
    try:
        if workload.controller_owns_steps:       # its controller's own account: steps, phase, message
            return cast(Controller, workload).describe(workload.get(release.namespace, release.new_name))
        new = workload.ready(workload.get(release.namespace, release.new_name))
        old = 0 if release.new_name == release.stable_name else \
            workload.ready(workload.get(release.namespace, release.stable_name))
    except KubeError:
        return {}
    return {"new_ready": new, "old_ready": old}
