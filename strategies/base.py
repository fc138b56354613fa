"""What every strategy is: a plan of stages, and idempotent steps that converge the cluster.

Strategies know the cluster only through bot.adapters.kube and nothing of chat or Redis. Each step
is declarative (absolute replica counts, whole selectors, whole templates), so re-running it
after a crash converges instead of applying twice.
"""
from __future__ import annotations

import copy
from typing import Protocol

from bot.adapters.kube import Kube
from bot.domain.apps import AppSpec
from bot.domain.model import Release, Stage
from bot.domain.plans import Plan, PlanError, Progress, Target, main_container, version_label
from bot.language.grammar import StartCommand

__all__ = ["Plan", "PlanError", "Progress", "Strategy", "Target", "main_container", "version_label",
           "settled", "deadline_failure", "progress_text", "new_deployment", "restore_stable", "InPlace"]


class Strategy(Protocol):
    name: str

    def plan(self, kube: Kube, target: Target, cmd: StartCommand) -> Plan: ...
    def converge(self, kube: Kube, release: Release) -> Progress: ...
    def finalize(self, kube: Kube, release: Release) -> None: ...
    def rollback(self, kube: Kube, release: Release) -> Progress: ...
    def pause(self, kube: Kube, release: Release) -> None: ...
    def resume(self, kube: Kube, release: Release) -> None: ...


# -- helpers shared by the strategies ----------------------------------------------------

def settled(deploy: dict | None, replicas: int) -> bool:
    """The Deployment runs exactly `replicas` available pods of its current template
    (kubectl's rollout-status rule plus the size)."""
    if deploy is None:
        return replicas == 0
    s, spec = deploy.get("status") or {}, deploy["spec"]
    return (spec.get("replicas") == replicas
            and s.get("observedGeneration", 0) >= deploy["metadata"].get("generation", 1)
            and s.get("updatedReplicas", 0) == replicas and s.get("replicas", 0) == replicas
            and s.get("availableReplicas", 0) >= replicas)


def restore_stable(kube: Kube, release: Release) -> Progress | None:
    """Rollback's first step: the stable Deployment back at its full size and ready, before
    anything of the new version goes (capacity never dips). None once that is so."""
    ns, n = release.namespace, release.replicas
    stable = kube.deployment(ns, release.stable_name)
    if stable is None:
        return Progress(False, failure=f"{release.stable_name} is gone; cannot roll back")
    if stable["spec"].get("replicas") != n:
        kube.scale(ns, release.stable_name, n)
        stable = kube.deployment(ns, release.stable_name)
    if not settled(stable, n):
        return Progress(False, progress_text(stable, n), deadline_failure(stable))
    return None


def deadline_failure(deploy: dict | None) -> str:
    for cond in (deploy or {}).get("status", {}).get("conditions") or []:
        if cond["type"] == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return f"{deploy['metadata']['name']}: {cond.get('message', 'progress deadline exceeded')}"
    return ""


def progress_text(deploy: dict | None, replicas: int) -> str:
    if deploy is None:
        return "not created yet"
    s = deploy.get("status") or {}
    return f"{deploy['metadata']['name']}: {s.get('availableReplicas', 0)}/{replicas} available"


def new_deployment(stable: dict, app: AppSpec, version: str, image: str, replicas: int) -> dict:
    """The new version's Deployment: the stable template, new image, label version=VERSION."""
    name = f"{app.name}-{version}"
    template = copy.deepcopy(stable["spec"]["template"])
    labels = dict(template["metadata"].get("labels") or {}, version=version)
    labels.pop("pod-template-hash", None)
    template["metadata"] = {"labels": labels,
                            "annotations": template["metadata"].get("annotations") or {}}
    main_container({"spec": {"template": template}}, app.name)["image"] = image
    selector = dict(stable["spec"]["selector"].get("matchLabels") or app.labels, version=version)
    spec = {k: copy.deepcopy(v) for k, v in stable["spec"].items()
            if k in ("strategy", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds")}
    spec.update(replicas=replicas, selector={"matchLabels": selector}, template=template)
    meta = {"name": name, "namespace": app.namespace,
            "labels": dict(stable["metadata"].get("labels") or {}, version=version),
            "annotations": {"graybot.io/managed": "true"}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


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
