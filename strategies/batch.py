"""Batch release (Alibaba EDAS / OpenKruise style): a gray batch of 1-2 pods that a human always
checks, then the rest in batches, smaller first; old pods mirror the new ones. Each batch
brings the new pods up and ready before the old ones go, so capacity never dips.

Rollback restores the stable version at once (stable up first, then the new version goes);
`rollback --batches` walks back batch by batch with the same readiness checks.
"""
from __future__ import annotations

from bot.language.grammar import StartCommand
from bot.workloads import Workload
from bot.domain import traits
from bot.domain.model import Release, Stage
from bot.domain.apps import AppSpec

from .base import Plan, PlanError, Progress, Target


def batch_sizes(total: int, gray: int, batches: int) -> list[int]:
    """Gray first, then the rest split as evenly as possible, smaller batches first."""
    rest = total - gray
    count = max(1, min(batches, rest)) if rest > 0 else 0
    sizes = [rest // count + (1 if i >= count - rest % count else 0) for i in range(count)] if count else []
    return [gray] + sizes


class Batch:
    name = "batch"
    traits = traits.BATCHES

    def __init__(self, apps: dict[str, AppSpec]):
        self.apps = apps

    def plan(self, workload: Workload, target: Target, cmd: StartCommand) -> Plan:
        n = target.replicas
        if cmd.gray >= n:
            raise PlanError(f"the gray batch ({cmd.gray}) must be smaller than {target.app.name}'s "
                            f"{n} replicas")
        stages, done = [], 0
        sizes = batch_sizes(n, cmd.gray, cmd.batches)
        for i, size in enumerate(sizes):
            done += size
            name = "gray" if i == 0 else f"batch {i}/{len(sizes) - 1}"
            note = (f"{size} gray pod(s) of {target.to_version}; a human checks and approves"
                    if i == 0 else f"+{size} new, -{size} old")
            if done == n:
                note += f"; {target.stable_name} is retired"
            stages.append(Stage(name, round(100 * done / n), done, n - done, note))
        return Plan(tuple(stages), target.new_name, {})

    def _swap(self, workload: Workload, release: Release, new_count: int, up_first: str) -> Progress:
        """Move to `new_count` new / N-new_count old pods, growing `up_first` before shrinking."""
        ns, n = release.namespace, release.replicas
        wanted = {release.new_name: new_count, release.stable_name: n - new_count}
        order = [release.new_name, release.stable_name] if up_first == "new" else \
            [release.stable_name, release.new_name]
        for name in order:
            deploy = workload.get(ns, name)
            if deploy is not None and deploy["spec"].get("replicas") != wanted[name]:
                workload.scale(ns, name, wanted[name])
                deploy = workload.get(ns, name)
            if not workload.settled(deploy, wanted[name]):
                return Progress(False, workload.progress(deploy, wanted[name]), workload.deadline_failure(deploy))
        return Progress(True, f"{new_count} new / {n - new_count} old pods ready")

    def converge(self, workload: Workload, release: Release) -> Progress:
        ns = release.namespace
        if workload.get(ns, release.new_name) is None:
            stable = workload.get(ns, release.stable_name)
            workload.create(ns, workload.new_version(stable, self.apps[release.app].at(release.cluster), release.to_version,
                                                      release.image, 0))
        return self._swap(workload, release, release.current.new_replicas, up_first="new")

    def finalize(self, workload: Workload, release: Release) -> None:
        workload.delete(release.namespace, release.stable_name)

    def rollback(self, workload: Workload, release: Release) -> Progress:
        ns, n = release.namespace, release.replicas
        stable = workload.get(ns, release.stable_name)
        if stable is None:
            return Progress(False, failure=f"{release.stable_name} is gone; cannot roll back")
        new = workload.get(ns, release.new_name)
        if release.runtime.rollback_batches and new is not None:
            current = new["spec"].get("replicas", 0)
            lower = [s.new_replicas for s in release.stages if s.new_replicas < current]
            if current > 0:
                step = self._swap(workload, release, max(lower) if lower else 0, up_first="old")
                if not step.done:
                    return step
                return Progress(False, f"walked back to {max(lower) if lower else 0} new pods")
        step = self._swap(workload, release, 0, up_first="old") if new is not None else \
            Progress(workload.settled(stable, n), workload.progress(stable, n))
        if not step.done:
            return step
        workload.delete(ns, release.new_name)
        return Progress(True, f"{release.stable_name} serves all {n} pods")

    def pause(self, workload: Workload, release: Release) -> None:
        """Pausing holds the schedule (the engine drops the timer); nothing to change here."""

    def resume(self, workload: Workload, release: Release) -> None:
        """The engine re-arms the timer from now."""
