"""Does the cluster still look like the saved stage? Redis can come back older than the cluster
(an `everysec` tail lost, an asynchronous replica promoted): a saved stage 10% while the cluster
runs 30%, or a waiting release whose new version a finished rollback already deleted. Before a
timer or a person's approval moves a release, the difference is looked for, and found, holds it."""
from __future__ import annotations

from bot.domain.model import Release
from bot.workloads import Workload


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
