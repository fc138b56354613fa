"""An Argo Rollout as a workload: its controller runs the canary steps (setWeight, pause, analysis)
and graybot approves its pauses, writing exactly what `kubectl argo rollouts` writes (merge
patches; status through the status subresource): promote clears `status.pauseConditions`, abort and retry set `status.abort`, pause and resume
`spec.paused`; the new image goes into `spec.template` by GET and PUT (again on a 409)."""
from __future__ import annotations

import copy
from typing import Any

from bot.adapters.kube import Kube, KubeError
from bot.domain.apps import AppSpec
from bot.domain.model import Stage

from .base import ControllerOwned
from .steps import stages_of

PAUSE_STEP = "CanaryPauseStep"
PUT_TRIES = 3


def steps_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list((((obj.get("spec") or {}).get("strategy") or {}).get("canary") or {}).get("steps") or [])


def step_text(step: dict[str, Any]) -> str:
    if "setWeight" in step:
        return f"setWeight {step['setWeight']}"
    if "pause" in step:
        duration = (step["pause"] or {}).get("duration")
        return f"pause {duration}" if duration is not None else "pause (until promoted)"
    if "analysis" in step:
        return "analysis"
    return next(iter(step), "step")


def weight_at(steps: list[dict[str, Any]], index: int) -> int:
    """The canary's weight once the steps before `index` ran (the last setWeight)."""
    return next((int(s["setWeight"]) for s in reversed(steps[:index]) if "setWeight" in s), 0)


def indefinite_pauses(steps: list[dict[str, Any]]) -> list[int]:
    return [i for i, s in enumerate(steps) if "pause" in s and (s["pause"] or {}).get("duration") is None]



class ArgoRollouts(ControllerOwned):
    kind = "argo-rollout"
    api_kind = "Rollout"
    controller_owns_steps = True
    resource = "rollouts"

    def __init__(self, kube: Kube):
        self.kube = kube

    # -- what serves the app --------------------------------------------------------------------
    def serving(self, app: AppSpec) -> list[dict[str, Any]]:
        found = self.get(app.namespace, app.object or app.name)
        return [found] if found is not None else []

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.kube.rollout(namespace, name)

    def missing(self, app: AppSpec) -> str:
        """Why the app's Rollout cannot be found, for a refusal and check-config."""
        where = f"Rollout {app.namespace}/{app.object or app.name}"
        if not self.kube.serves("argoproj.io", "v1alpha1", "rollouts"):
            return (f"{where}: this cluster does not serve argoproj.io/v1alpha1 rollouts; is Argo Rollouts "
                    "installed (its CRDs and controller)?")
        return f"{where} does not exist (apps.{app.name}.object names the Rollout graybot drives)"

    def image_of(self, obj: dict[str, Any], app: str) -> str:
        return self._container(obj, app)["image"]

    def template(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The object holding the pod template (`spec.template`): the Rollout itself."""
        return obj

    def serving_image(self, obj: dict[str, Any], app: str) -> str:
        """The stable ReplicaSet's image: after an abort the template still asks for the new one."""
        s = self.status(obj)
        if not s.get("stableRS") or s.get("stableRS") == s.get("currentPodHash"):
            return self.image_of(obj, app)
        stable = self.kube.replicaset(obj["metadata"]["namespace"], f"{obj['metadata']['name']}-{s['stableRS']}")
        return self.image_of(stable, app) if stable is not None else self.image_of(obj, app)

    @staticmethod
    def _container(obj: dict[str, Any], app: str) -> dict[str, Any]:
        containers = obj["spec"]["template"]["spec"]["containers"]
        return next((c for c in containers if c["name"] == app), containers[0])

    def version_label(self, obj: dict[str, Any]) -> str | None:
        return (obj["spec"]["template"].get("metadata") or {}).get("labels", {}).get("version")

    def size(self, obj: dict[str, Any]) -> int:
        return int(obj["spec"].get("replicas", 1))

    def ready(self, obj: dict[str, Any] | None) -> int:
        return 0 if obj is None else int((obj.get("status") or {}).get("availableReplicas", 0))

    def patch(self, namespace: str, name: str, patch: Any) -> dict[str, Any]:
        return self.kube.merge_rollout(namespace, name, patch)

    # -- how far it got ---------------------------------------------------------------------------
    @staticmethod
    def status(obj: dict[str, Any] | None) -> dict[str, Any]:
        return dict((obj or {}).get("status") or {})

    def settled(self, obj: dict[str, Any] | None, replicas: int) -> bool:
        """Fully promoted: the template's pods are the stable ones, all available."""
        s = self.status(obj)
        return obj is not None and s.get("phase") == "Healthy" and s.get("stableRS") == s.get("currentPodHash") \
            and s.get("availableReplicas", 0) >= replicas

    def paused_at(self, obj: dict[str, Any] | None) -> int | None:
        """The step index where the controller waits for a promote, or None."""
        s = self.status(obj)
        reasons = [c.get("reason") for c in s.get("pauseConditions") or []]
        return int(s.get("currentStepIndex", 0)) if PAUSE_STEP in reasons else None

    def aborted(self, obj: dict[str, Any] | None) -> bool:
        return bool(self.status(obj).get("abort"))

    def progress(self, obj: dict[str, Any] | None, replicas: int) -> str:
        s = self.status(obj)
        steps = steps_of(obj or {})
        index = int(s.get("currentStepIndex", 0))
        where = f"step {min(index + 1, len(steps))}/{len(steps)}" if steps else "no steps"
        return f"{s.get('phase', 'Progressing')}, {where}" + (f": {s['message']}" if s.get("message") else "")

    def deadline_failure(self, obj: dict[str, Any] | None) -> str:
        s = self.status(obj)
        return str(s.get("message") or "aborted") if s.get("abort") or s.get("phase") == "Degraded" else ""

    def describe(self, obj: dict[str, Any] | None) -> dict[str, Any]:
        """What the live message shows of the controller: its steps, where it is, its words."""
        s, steps = self.status(obj), steps_of(obj or {})
        index = int(s.get("currentStepIndex", 0))
        stable_ready = s.get("availableReplicas", 0) - s.get("updatedReplicas", 0)
        return {"controller": {"kind": self.api_kind, "phase": s.get("phase", ""), "message": s.get("message", ""),
                               "step": index, "steps": [step_text(x) for x in steps],
                               "weight": 100 if s.get("stableRS") == s.get("currentPodHash") else weight_at(steps, index)},
                "new_ready": s.get("updatedReplicas", 0), "old_ready": max(0, stable_ready)}

    # -- its steps as a release's stages, and what stops an update ------------------------------------
    def steps(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        return steps_of(obj)

    def pause_points(self, steps: list[dict[str, Any]]) -> list[int]:
        return indefinite_pauses(steps)

    def stages(self, obj: dict[str, Any], replicas: int) -> tuple[Stage, ...]:
        steps = steps_of(obj)
        return stages_of(steps, indefinite_pauses(steps), replicas, weight_at, step_text)

    def in_update(self, obj: dict[str, Any]) -> bool:
        s = self.status(obj)
        return s.get("currentPodHash") != s.get("stableRS")

    def origin(self, obj: dict[str, Any]) -> dict[str, Any]:
        """What a release keeps of the object before it starts: an abort it may retry."""
        s = self.status(obj)
        return {"aborted_at": s.get("abortedAt", "") if s.get("abort") else ""}

    def trouble(self, obj: dict[str, Any], origin: dict[str, Any], first_stage: bool) -> tuple[str, str]:
        """("retry", what) when this release retries an update aborted before it started;
        ("failure", why) when the controller aborted it; ("", "") otherwise."""
        s = self.status(obj)
        if not s.get("abort"):
            return "", ""
        if first_stage and origin.get("aborted_at") and s.get("abortedAt") == origin["aborted_at"]:
            self.retry(obj["metadata"]["namespace"], obj["metadata"]["name"])
            return "retry", f"{obj['metadata']['name']}: retrying the aborted update"
        return "failure", self.deadline_failure(obj)

    def undo(self, obj: dict[str, Any], container: str, from_image: str, replicas: int) -> tuple[bool, str]:
        """Rollback as `kubectl argo rollouts abort`: (done, what now)."""
        ns, name, s = obj["metadata"]["namespace"], obj["metadata"]["name"], self.status(obj)
        if self.image_of(obj, container) == from_image:
            return self.settled(obj, replicas), f"{name} runs its stable version again"
        if not s.get("abort"):
            self.abort(ns, name)
            return False, f"{name}: aborting"
        if obj["spec"].get("paused"):
            self.resume(ns, name)
        stable = s.get("availableReplicas", 0) - s.get("updatedReplicas", 0)
        if s.get("updatedReplicas", 0) == 0 and stable >= replicas:
            return True, f"{name}: update aborted, {stable} stable pods serve"
        return False, self.progress(obj, replicas)

    # -- the controller's verbs, as kubectl argo rollouts writes them ------------------------------
    def set_image(self, namespace: str, name: str, container: str, image: str) -> dict[str, Any]:
        for attempt in range(PUT_TRIES):
            obj = self.get(namespace, name)
            if obj is None:
                raise KubeError(404, "NotFound", f"Rollout {namespace}/{name} is gone")
            if self.image_of(obj, container) == image:
                return obj
            body = copy.deepcopy(obj)
            self._container(body, container)["image"] = image
            try:
                return self.kube.replace_rollout(namespace, name, body)
            except KubeError as err:
                if err.status != 409 or attempt == PUT_TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def promote(self, namespace: str, name: str) -> None:
        obj = self.get(namespace, name)
        if obj is None:
            raise KubeError(404, "NotFound", f"Rollout {namespace}/{name} is gone")
        if obj["spec"].get("paused"):
            self.kube.merge_rollout(namespace, name, {"spec": {"paused": False}})
        s, steps = self.status(obj), steps_of(obj)
        if s.get("pauseConditions"):
            self.kube.merge_rollout_status(namespace, name, {"status": {"pauseConditions": None}})
        elif steps and int(s.get("currentStepIndex", 0)) < len(steps):
            step = min(int(s.get("currentStepIndex", 0)) + 1, len(steps))
            self.kube.merge_rollout_status(namespace, name, {"status": {"pauseConditions": None,
                                                                        "currentStepIndex": step}})

    def abort(self, namespace: str, name: str) -> None:
        self.kube.merge_rollout_status(namespace, name, {"status": {"abort": True}})

    def retry(self, namespace: str, name: str) -> None:
        self.kube.merge_rollout_status(namespace, name, {"status": {"abort": False}})

    def pause(self, namespace: str, name: str) -> None:
        self.kube.merge_rollout(namespace, name, {"spec": {"paused": True}})

    def resume(self, namespace: str, name: str) -> None:
        self.kube.merge_rollout(namespace, name, {"spec": {"paused": False}})
