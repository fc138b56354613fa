"""What every strategy is: a plan of stages, and idempotent steps that converge the cluster.

Strategies reach the app's pods only through its Workload (bot/workloads), and routes and
Services through the workload's cluster client; they know nothing of chat or Redis. Each step
is declarative (absolute replica counts, whole selectors, whole templates), so re-running it
after a crash converges instead of applying twice.
"""
from __future__ import annotations

import copy
from typing import Protocol

from bot.workloads import Workload
from bot.domain.apps import AppSpec
from bot.domain.model import Release, Stage
from bot.domain.plans import Plan, PlanError, Progress, Target, main_container, version_label
from bot.language.grammar import StartCommand

__all__ = ["Plan", "PlanError", "Progress", "Strategy", "Target", "main_container", "version_label",
           "restore_stable", "InPlace"]


class Strategy(Protocol):
    name: str

    def plan(self, workload: Workload, target: Target, cmd: StartCommand) -> Plan: ...
    def converge(self, workload: Workload, release: Release) -> Progress: ...
    def finalize(self, workload: Workload, release: Release) -> None: ...
    def rollback(self, workload: Workload, release: Release) -> Progress: ...
    def pause(self, workload: Workload, release: Release) -> None: ...
    def resume(self, workload: Workload, release: Release) -> None: ...


# -- helpers shared by the strategies ----------------------------------------------------

def restore_stable(workload: Workload, release: Release) -> Progress | None:
    """Rollback's first step: the stable workload back at its full size and ready, before
    anything of the new version goes (capacity never dips). None once that is so."""
    ns, n = release.namespace, release.replicas
    stable = workload.get(ns, release.stable_name)
    if stable is None:
        return Progress(False, failure=f"{release.stable_name} is gone; cannot roll back")
    if stable["spec"].get("replicas") != n:
        workload.scale(ns, release.stable_name, n)
        stable = workload.get(ns, release.stable_name)
    if not workload.settled(stable, n):
        return Progress(False, workload.progress(stable, n), workload.deadline_failure(stable))
    return None


# -- in-place strategies (rolling, recreate) patch the stable Deployment itself ----------------
# Rollback puts back the template (and strategy) recorded at the start, as `kubectl rollout undo`
# does with the previous ReplicaSet's template; writing the same template twice is a no-op, so it
# converges instead of toggling the way a repeated `undo` would.

def _template_without_hash(template: dict) -> dict:
    template = copy.deepcopy(template)
    (template.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    return template


class InPlace:
    name = "inplace"

    def __init__(self, apps: dict[str, AppSpec]):
        self.apps = apps

    def strategy_for(self, target: Target, cmd: StartCommand) -> dict:
        raise NotImplementedError

    def stage(self, target: Target, strategy: dict) -> Stage:
        raise NotImplementedError

    def plan(self, workload: Workload, target: Target, cmd: StartCommand) -> Plan:
        strategy = self.strategy_for(target, cmd)
        origin = {"template": _template_without_hash(target.stable["spec"]["template"]),
                  "strategy": copy.deepcopy(target.stable["spec"].get("strategy") or {}),
                  "target_strategy": strategy,
                  "container": main_container(target.stable, target.app.name)["name"]}
        return Plan((self.stage(target, strategy),), target.stable_name, origin)

    def _apply(self, workload: Workload, release: Release, template: dict, strategy: dict) -> dict:
        deploy = workload.get(release.namespace, release.stable_name)
        if deploy is None:
            raise RuntimeError(f"{release.stable_name} is gone")
        spec = deploy["spec"]
        current = _template_without_hash(spec["template"])
        ops = []
        if spec.get("strategy") != strategy:
            ops.append({"op": "replace", "path": "/spec/strategy", "value": strategy})
        if current != template:
            ops.append({"op": "replace", "path": "/spec/template", "value": template})
        if spec.get("paused"):
            ops.append({"op": "replace", "path": "/spec/paused", "value": False})
        return workload.patch(release.namespace, release.stable_name, ops) if ops else deploy

    def _target_template(self, release: Release) -> dict:
        template = copy.deepcopy(release.origin["template"])
        for c in template["spec"]["containers"]:
            if c["name"] == release.origin["container"]:
                c["image"] = release.image
        return template

    def converge(self, workload: Workload, release: Release) -> Progress:
        deploy = self._apply(workload, release, self._target_template(release),
                             release.origin["target_strategy"])
        deploy = workload.get(release.namespace, release.stable_name)
        if not workload.settled(deploy, release.replicas):
            return Progress(False, workload.progress(deploy, release.replicas), workload.deadline_failure(deploy))
        return Progress(True, f"{release.stable_name}: {release.replicas} pods of {release.to_version}")

    def finalize(self, workload: Workload, release: Release) -> None:
        """The stable Deployment now runs the new version; nothing is left to retire."""

    def rollback(self, workload: Workload, release: Release) -> Progress:
        self._apply(workload, release, release.origin["template"], release.origin["strategy"])
        deploy = workload.get(release.namespace, release.stable_name)
        if not workload.settled(deploy, release.replicas):
            return Progress(False, workload.progress(deploy, release.replicas), workload.deadline_failure(deploy))
        return Progress(True, f"{release.stable_name} back on {release.from_version}")

    def pause(self, workload: Workload, release: Release) -> None:
        workload.patch(release.namespace, release.stable_name, {"spec": {"paused": True}})

    def resume(self, workload: Workload, release: Release) -> None:
        workload.patch(release.namespace, release.stable_name, {"spec": {"paused": False}})
