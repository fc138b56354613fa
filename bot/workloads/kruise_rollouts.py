"""An OpenKruise Rollout as a workload: it drives a Deployment (`spec.workloadRef`) through canary
steps (a canary Deployment scaled per step) and waits in `StepPaused` for an approval. graybot
writes what `kubectl-kruise rollout approve` writes (`status.canaryStatus.currentStepState:
StepReady`, only when it is `StepPaused`; any other state is refused with the state named), and
`spec.strategy.paused` for pause and resume; the new image goes into the Deployment's template,
and a rollback puts the stable image back there (Kruise then ends the canary)."""
from __future__ import annotations

import math
from typing import Any

from bot.adapters.kube import Kube
from bot.domain.apps import AppSpec
from bot.domain.model import Stage

from .base import DrivesDeployment
from .steps import stages_of


class NotPaused(Exception):
    """An approval asked of a step that is not waiting for one."""


def steps_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list((((obj.get("spec") or {}).get("strategy") or {}).get("canary") or {}).get("steps") or [])


def _share(value: object) -> int:
    text = str(value)
    return int(text[:-1]) if text.endswith("%") else -1


def step_text(step: dict[str, Any]) -> str:
    size = step.get("replicas", "100%")
    wait = (step.get("pause") or {}).get("duration")
    return f"replicas {size}" + (f", pause {wait}s" if wait is not None else ", pause (until approved)")


class KruiseRollouts(DrivesDeployment):
    kind = "kruise-rollout"
    api_kind = "Rollout"
    controller_owns_steps = True
    resource = "kruise-rollouts"

    def __init__(self, kube: Kube):
        self.kube = kube

    # -- reads: the Kruise Rollout, with the Deployment it drives under "workload" ------------------
    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        ro = self.kube.kruise_rollout(namespace, name)
        if ro is None:
            return None
        ref = (ro["spec"].get("workloadRef") or {}).get("name", "")
        return dict(ro, workload=self.kube.deployment(namespace, ref) or {"spec": {"template": {"spec": {
            "containers": [{"name": "", "image": ""}]}}}})

    def missing(self, app: AppSpec) -> str:
        where = f"Rollout.rollouts.kruise.io {app.namespace}/{app.object or app.name}"
        if not self.kube.serves("rollouts.kruise.io", "v1beta1", "rollouts"):
            return (f"{where}: this cluster does not serve rollouts.kruise.io/v1beta1 rollouts; is Kruise Rollouts "
                    "installed?")
        return f"{where} does not exist (apps.{app.name}.object names the Rollout graybot drives)"

    def serving_image(self, obj: dict[str, Any], app: str) -> str:
        """The stable ReplicaSet's image while a canary runs (the Deployment's template is new then)."""
        deploy, stable = obj["workload"], self.status(obj).get("stableRevision")
        if not stable or not self.in_update(obj):
            return self.image_of(obj, app)
        rs = self.kube.replicaset(deploy["metadata"]["namespace"], f"{deploy['metadata']['name']}-{stable}")
        return self._container(rs, app)["image"] if rs is not None else self.image_of(obj, app)

    def size(self, obj: dict[str, Any]) -> int:
        return int(obj["workload"]["spec"].get("replicas", 1))

    def ready(self, obj: dict[str, Any] | None) -> int:
        return 0 if obj is None else int((obj["workload"].get("status") or {}).get("availableReplicas", 0))

    @staticmethod
    def status(obj: dict[str, Any] | None) -> dict[str, Any]:
        return dict((obj or {}).get("status") or {})

    def patch(self, namespace: str, name: str, patch: Any) -> dict[str, Any]:
        return self.kube.merge_kruise_rollout(namespace, name, patch)

    # -- how far it got -------------------------------------------------------------------------------
    def in_update(self, obj: dict[str, Any]) -> bool:
        canary = self.status(obj).get("canaryStatus") or {}
        return bool(canary) and canary.get("currentStepState") != "Completed"

    def settled(self, obj: dict[str, Any] | None, replicas: int) -> bool:
        s = self.status(obj)
        return obj is not None and s.get("phase") == "Healthy" and not self.in_update(obj) and self.ready(obj) >= replicas

    def paused_at(self, obj: dict[str, Any] | None) -> int | None:
        canary = self.status(obj).get("canaryStatus") or {}
        return int(canary["currentStepIndex"]) - 1 if canary.get("currentStepState") == "StepPaused" else None

    def progress(self, obj: dict[str, Any] | None, replicas: int) -> str:
        s = self.status(obj)
        return f"{s.get('phase', 'Progressing')}" + (f": {s['message']}" if s.get("message") else "")

    def deadline_failure(self, obj: dict[str, Any] | None) -> str:
        return ""

    def describe(self, obj: dict[str, Any] | None) -> dict[str, Any]:
        s, steps = self.status(obj), steps_of(obj or {})
        canary = s.get("canaryStatus") or {}
        at = int(canary.get("currentStepIndex", len(steps) + 1)) - 1
        weight = 100 if not self.in_update(obj or {}) else self._weight(steps, at + 1)
        stable = int(((obj or {}).get("workload") or {}).get("status", {}).get("availableReplicas", 0))
        return {"controller": {"kind": "Kruise Rollout", "phase": s.get("phase", ""), "message": s.get("message", ""),
                               "step": at, "steps": [step_text(x) for x in steps], "weight": weight},
                "new_ready": int(canary.get("canaryReadyReplicas", 0)) if self.in_update(obj or {}) else stable,
                "old_ready": stable if self.in_update(obj or {}) else 0}

    # -- its steps as a release's stages ------------------------------------------------------------
    def steps(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        return steps_of(obj)

    def pause_points(self, steps: list[dict[str, Any]]) -> list[int]:
        """Every step waits for an approval unless its pause has a duration (the last one too: its
        approval lets Kruise complete the release)."""
        return [i for i, s in enumerate(steps) if (s.get("pause") or {}).get("duration") is None]

    @staticmethod
    def _weight(steps: list[dict[str, Any]], index: int) -> int:
        share = _share(steps[index - 1].get("replicas", "100%")) if 0 < index <= len(steps) else 0
        return share if share >= 0 else 0

    def stages(self, obj: dict[str, Any], replicas: int) -> tuple[Stage, ...]:
        steps = steps_of(obj)

        def weight_of(all_steps: list[dict[str, Any]], end: int) -> int:
            size = all_steps[end].get("replicas", "100%")
            share = _share(size)
            return share if share >= 0 else min(100, math.ceil(100 * int(size) / max(1, replicas)))
        return stages_of(steps, self.pause_points(steps), replicas, weight_of, step_text)

    def origin(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {}

    def trouble(self, obj: dict[str, Any], origin: dict[str, Any], first_stage: bool) -> tuple[str, str]:
        return "", ""

    # -- its verbs, as kubectl-kruise writes them ------------------------------------------------------
    def approve(self, namespace: str, name: str) -> None:
        obj = self.get(namespace, name)
        state = ((self.status(obj).get("canaryStatus") or {}).get("currentStepState")) or "no canary running"
        if state != "StepPaused":
            raise NotPaused(f"{name} is not waiting for an approval: its step is {state}, not StepPaused")
        self.kube.merge_kruise_rollout_status(namespace, name, {"status": {"canaryStatus": {
            "currentStepState": "StepReady"}}})

    def promote(self, namespace: str, name: str) -> None:
        try:
            self.approve(namespace, name)
        except NotPaused:
            pass                    # it moved on already (approved elsewhere): nothing to write

    def undo(self, obj: dict[str, Any], container: str, from_image: str, replicas: int) -> tuple[bool, str]:
        """Rollback: the stable image back in the Deployment's template; Kruise ends the canary."""
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        if self.image_of(obj, container) != from_image:
            self.set_image(ns, name, container, from_image)
            return False, f"{name}: the stable image back in the template"
        return self.settled(obj, replicas), self.progress(obj, replicas)

    def pause(self, namespace: str, name: str) -> None:
        self.kube.merge_kruise_rollout(namespace, name, {"spec": {"strategy": {"paused": True}}})

    def resume(self, namespace: str, name: str) -> None:
        self.kube.merge_kruise_rollout(namespace, name, {"spec": {"strategy": {"paused": False}}})
