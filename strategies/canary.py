"""Canary: a second Deployment for the new version, grown stage by stage; at 100% the stable
Deployment is retired. With the replicas router the share is the pod ratio (Argo's split)."""
from __future__ import annotations

from bot.grammar import StartCommand
from bot.kube import Kube
from bot.model import Release, Stage
from bot.settings import AppSpec

from .base import Plan, Progress, Target, deadline_failure, new_deployment, progress_text, settled
from .replicas import canary_split
from .routers.replicas import ReplicasRouter


class Canary:
    name = "canary"

    def __init__(self, apps: dict[str, AppSpec]):
        self.apps = apps
        self.router = ReplicasRouter()

    def _app(self, release: Release) -> AppSpec:
        return self.apps[release.app]

    def plan(self, kube: Kube, target: Target, cmd: StartCommand) -> Plan:
        n = target.replicas
        stages = []
        for weight in cmd.steps:
            new, old = canary_split(n, weight)
            share = round(100 * new / (new + old)) if new + old else 100
            note = f"{new} new / {old} old pods (~{share}% of traffic by pod ratio)"
            stages.append(Stage(f"{weight}%", weight, new, old, note))
        stages[-1] = Stage(stages[-1].name, 100, n, 0,
                           f"{n} new pods; {target.stable_name} is retired")
        origin = self.router.origin(kube, target.app.namespace, target.app.service)
        return Plan(tuple(stages), target.new_name, origin)

    def converge(self, kube: Kube, release: Release) -> Progress:
        app, stage, ns = self._app(release), release.current, release.namespace
        self.router.prepare(kube, release, app.labels, app.service)
        new = kube.deployment(ns, release.new_name)
        if new is None:
            stable = kube.deployment(ns, release.stable_name)
            new = kube.create_deployment(ns, new_deployment(stable, app, release.to_version,
                                                            release.image, stage.new_replicas))
        if new["spec"].get("replicas") != stage.new_replicas:
            kube.scale(ns, release.new_name, stage.new_replicas)
            new = kube.deployment(ns, release.new_name)
        if not settled(new, stage.new_replicas):
            return Progress(False, progress_text(new, stage.new_replicas), deadline_failure(new))
        stable = kube.deployment(ns, release.stable_name)
        if stable is not None and stable["spec"].get("replicas") != stage.old_replicas:
            kube.scale(ns, release.stable_name, stage.old_replicas)
            stable = kube.deployment(ns, release.stable_name)
        if stable is not None and not settled(stable, stage.old_replicas):
            return Progress(False, progress_text(stable, stage.old_replicas))
        self.router.route(kube, release, stage.weight)
        return Progress(True, f"{stage.new_replicas} new / {stage.old_replicas} old pods ready")

    def finalize(self, kube: Kube, release: Release) -> None:
        app = self._app(release)
        self.router.complete(kube, release, app.labels, app.service)
        kube.delete_deployment(release.namespace, release.stable_name)

    def rollback(self, kube: Kube, release: Release) -> Progress:
        """Stable back to N first (capacity never dips), then the new version goes."""
        app, ns = self._app(release), release.namespace
        stable = kube.deployment(ns, release.stable_name)
        if stable is None:
            return Progress(False, failure=f"{release.stable_name} is gone; cannot roll back")
        if stable["spec"].get("replicas") != release.replicas:
            kube.scale(ns, release.stable_name, release.replicas)
            stable = kube.deployment(ns, release.stable_name)
        if not settled(stable, release.replicas):
            return Progress(False, progress_text(stable, release.replicas), deadline_failure(stable))
        self.router.undo(kube, release, app.service)
        kube.delete_deployment(ns, release.new_name)
        return Progress(True, f"{release.stable_name} serves all {release.replicas} pods")

    def pause(self, kube: Kube, release: Release) -> None:
        """Holding a stage needs no cluster change: nothing advances while paused."""

    def resume(self, kube: Kube, release: Release) -> None:
        """Nothing was changed on pause."""
