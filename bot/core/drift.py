"""Does the cluster still look like the saved stage? Redis can come back older than the cluster
(an `everysec` tail lost, an asynchronous replica promoted): a saved stage 10% while the cluster
runs 30%, or a waiting release whose new version a finished rollback already deleted. Before a
timer or a person's approval moves a release, the difference is looked for, and found, holds it."""
from __future__ import annotations

import logging
from typing import Protocol

from bot.adapters.clusters import Clusters
from bot.adapters.kube import KubeError
from bot.domain.model import Event, Release
from bot.domain.names import GRAYBOT
from bot.workloads import Workload

from .refusals import Refused

log = logging.getLogger("graybot.engine")


class Holds(Protocol):
    """What holding a release needs of the engine: its clusters, their workloads, its one save."""
    clusters: Clusters

    def workload_for(self, release: Release) -> Workload: ...

    def save(self, release: Release, event: Event, actor: str, reason: str = "", detail: str = "",
             extra: dict | None = None) -> Release: ...


def stage_mismatch(workload: Workload, release: Release) -> str | None:
    """What in the cluster differs from the release's saved current stage, or None."""
    stage, ns = release.current, release.namespace
    if release.new_name == release.stable_name:            # in place: the template says which version
        stable = workload.get(ns, release.stable_name)
        if stable is None:
            return f"{release.stable_name} is gone"
        image = workload.image_of(stable, release.app)
        return None if image == release.image else \
            f"{release.stable_name} runs {image}, not {release.image} as the saved stage {stage.name} says"
    said = []
    for name, wanted in ((release.new_name, stage.new_replicas), (release.stable_name, stage.old_replicas)):
        obj = workload.get(ns, name)
        if obj is None and wanted > 0:
            said.append(f"{name} is gone (the saved stage {stage.name} has {wanted} pods of it)")
        elif obj is not None and workload.size(obj) != wanted:
            said.append(f"{name} runs {workload.size(obj)} pods, the saved stage {stage.name} {wanted}")
    return "; ".join(said) or None


def hold_if_stale(engine: Holds, release: Release) -> None:
    """Before anything moves a waiting release on: the cluster must be as its saved stage says.
    A difference pauses it, said, and refuses the move (Refused)."""
    try:        # quietly: a cluster that does not answer is said by the step that needs it
        mismatch = stage_mismatch(engine.workload_for(release), release)
    except KubeError:
        return
    if not mismatch:
        return
    why = f"the cluster does not match the saved state ({mismatch}); nothing moved: check the cluster, " \
          "then resume, or roll back"
    engine.save(release, Event.PAUSE, GRAYBOT, reason=why)
    raise Refused(why)


def hold_for_credentials(engine: Holds, release: Release, err: KubeError) -> None:
    """The API server refused graybot's credentials (401/403): retrying cannot help, so the
    release waits for a person to fix them and resume (a rollback keeps retrying: it cannot wait)."""
    cluster = engine.clusters.name_of(release.cluster)
    try:
        engine.save(release, Event.PAUSE, GRAYBOT, reason=f"cluster {cluster} rejected graybot's credentials "
                    f"({err.status} {err.reason}); fix its kubeconfig's user or RBAC, then resume")
    except Refused as refused:       # it moved on meanwhile
        log.info("holding %s for rejected credentials: %s", release.id, refused)
