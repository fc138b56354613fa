"""In-place strategies patch the stable Deployment itself: rolling update and recreate.

Rollback puts back the template (and strategy) recorded at the start, as `kubectl rollout
undo` does with the previous ReplicaSet's template; writing the same template twice is a
no-op, so it converges instead of toggling the way a repeated `undo` would.
"""
from __future__ import annotations

import copy

from bot.grammar import StartCommand
from bot.kube import Kube
from bot.model import Release, Stage
from bot.settings import AppSpec

from .base import Plan, Progress, Target, deadline_failure, main_container, progress_text, settled


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

    def plan(self, kube: Kube, target: Target, cmd: StartCommand) -> Plan:
        strategy = self.strategy_for(target, cmd)
        origin = {"template": _template_without_hash(target.stable["spec"]["template"]),
                  "strategy": copy.deepcopy(target.stable["spec"].get("strategy") or {}),
                  "target_strategy": strategy,
                  "container": main_container(target.stable, target.app.name)["name"]}
        return Plan((self.stage(target, strategy),), target.stable_name, origin)

    def _apply(self, kube: Kube, release: Release, template: dict, strategy: dict) -> dict:
        deploy = kube.deployment(release.namespace, release.stable_name)
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
        return kube.patch_deployment(release.namespace, release.stable_name, ops) if ops else deploy

    def _target_template(self, release: Release) -> dict:
        template = copy.deepcopy(release.origin["template"])
        for c in template["spec"]["containers"]:
            if c["name"] == release.origin["container"]:
                c["image"] = release.image
        return template

    def converge(self, kube: Kube, release: Release) -> Progress:
        deploy = self._apply(kube, release, self._target_template(release),
                             release.origin["target_strategy"])
        deploy = kube.deployment(release.namespace, release.stable_name)
        if not settled(deploy, release.replicas):
            return Progress(False, progress_text(deploy, release.replicas), deadline_failure(deploy))
        return Progress(True, f"{release.stable_name}: {release.replicas} pods of {release.to_version}")

    def finalize(self, kube: Kube, release: Release) -> None:
        """The stable Deployment now runs the new version; nothing is left to retire."""

    def rollback(self, kube: Kube, release: Release) -> Progress:
        self._apply(kube, release, release.origin["template"], release.origin["strategy"])
        deploy = kube.deployment(release.namespace, release.stable_name)
        if not settled(deploy, release.replicas):
            return Progress(False, progress_text(deploy, release.replicas), deadline_failure(deploy))
        return Progress(True, f"{release.stable_name} back on {release.from_version}")

    def pause(self, kube: Kube, release: Release) -> None:
        kube.patch_deployment(release.namespace, release.stable_name, {"spec": {"paused": True}})

    def resume(self, kube: Kube, release: Release) -> None:
        kube.patch_deployment(release.namespace, release.stable_name, {"spec": {"paused": False}})


class Rolling(InPlace):
    name = "rolling"

    def strategy_for(self, target: Target, cmd: StartCommand) -> dict:
        current = (target.stable["spec"].get("strategy") or {}).get("rollingUpdate") or {}
        surge = _int_or_pct(cmd.max_surge) if cmd.max_surge else current.get("maxSurge", "25%")
        unavailable = _int_or_pct(cmd.max_unavailable) if cmd.max_unavailable else \
            current.get("maxUnavailable", "25%")
        return {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}

    def stage(self, target: Target, strategy: dict) -> Stage:
        ru = strategy["rollingUpdate"]
        return Stage("rolling update", 100, target.replicas, 0,
                     f"{target.stable_name} rolls to {target.to_version}: maxSurge {ru['maxSurge']}, "
                     f"maxUnavailable {ru['maxUnavailable']}")


class Recreate(InPlace):
    name = "recreate"

    def strategy_for(self, target: Target, cmd: StartCommand) -> dict:
        return {"type": "Recreate"}

    def stage(self, target: Target, strategy: dict) -> Stage:
        return Stage("recreate", 100, target.replicas, 0,
                     f"DOWNTIME: all {target.replicas} {target.from_version} pods stop before any "
                     f"{target.to_version} pod starts")


def _int_or_pct(text: str) -> int | str:
    return text if text.endswith("%") else int(text)
