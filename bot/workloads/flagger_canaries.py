"""A Flagger Canary as a workload: Flagger keeps a `TARGET-primary` Deployment serving, and when
the target Deployment's template changes it scales the target up and shifts weight to it
(`stepWeight` or `stepWeights`, up to `maxWeight`), calling its webhooks on the way. graybot sets
the new image in the target's template and is the Canary's gates: Flagger POSTs to graybot's
`/flagger/gates/HOOK` (bot/core/flagger_webhooks.py answers), and an Approve opens the
`confirm-promotion` gate of that revision only, a Rollback its `rollback` gate, both kept in Redis
(bot/adapters/flaggergates.py). Pause and Resume write `spec.suspend`, Flagger's own switch.

The release's stages: the analysis up to maxWeight, which ends waiting at confirm-promotion (a
person approves), then the promotion. `confirm-rollout` and `confirm-traffic-increase` are the
machine's gates: open while a graybot release of the app runs and no freeze holds it."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bot.adapters.flaggergates import FlaggerGates, place
from bot.adapters.kube import Kube
from bot.domain.apps import AppSpec
from bot.domain.clusters import DEFAULT_CLUSTER
from bot.domain.model import Stage

from .base import DrivesDeployment
from .steps import stages_of

ANALYSING = ("Progressing", "Waiting", "WaitingPromotion")
PROMOTING = ("Promoting", "Finalising")
GATE_PATH = "/flagger/gates/"
EMPTY = {"spec": {"template": {"spec": {"containers": [{"name": "", "image": ""}]}}}}


def analysis(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    return dict(spec.get("analysis") or spec.get("canaryAnalysis") or {})


def weights(obj: dict[str, Any]) -> list[int]:
    """The canary weights Flagger steps through (scheduler.go nextStepWeight, maxWeight)."""
    a = analysis(obj)
    if a.get("stepWeights"):
        return [min(100, int(w)) for w in a["stepWeights"]]
    step, top = int(a.get("stepWeight") or 0), int(a.get("maxWeight") or 100)
    return list(range(step, top + 1, step)) if step > 0 else [top]


def graybot_hooks(obj: dict[str, Any]) -> set[str]:
    """The webhook types whose URL is one of graybot's gates."""
    return {str(h.get("type")) for h in analysis(obj).get("webhooks") or [] if GATE_PATH in str(h.get("url", ""))}


class FlaggerCanaries(DrivesDeployment):
    kind = "flagger-canary"
    api_kind = "Canary"
    controller_owns_steps = True
    resource = "flagger-canaries"

    def __init__(self, kube: Kube, gates: FlaggerGates | None = None):
        self.kube, self.gates = kube, gates

    # -- reads: the Canary, with its target ("workload") and Flagger's primary --------------------
    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        canary = self.kube.flagger_canary(namespace, name)
        if canary is None:
            return None
        target = (canary["spec"].get("targetRef") or {}).get("name", "")
        return dict(canary, workload=self.kube.deployment(namespace, target) or EMPTY,
                    primary=self.kube.deployment(namespace, f"{target}-primary") or EMPTY)

    def missing(self, app: AppSpec) -> str:
        where = f"Canary.flagger.app {app.namespace}/{app.object or app.name}"
        if not self.kube.serves("flagger.app", "v1beta1", "canaries"):
            return f"{where}: this cluster does not serve flagger.app/v1beta1 canaries; is Flagger installed?"
        return f"{where} does not exist (apps.{app.name}.object names the Canary graybot drives)"

    def serving_image(self, obj: dict[str, Any], app: str) -> str:
        """What the primary runs: Flagger copies the target's template there only on promotion."""
        primary = self._container(obj["primary"], app)["image"]
        return primary or self.image_of(obj, app)

    def size(self, obj: dict[str, Any]) -> int:
        return int(obj["primary"]["spec"].get("replicas") or obj["workload"]["spec"].get("replicas", 1))

    def ready(self, obj: dict[str, Any] | None) -> int:
        return 0 if obj is None else int((obj["primary"].get("status") or {}).get("availableReplicas", 0))

    @staticmethod
    def status(obj: dict[str, Any] | None) -> dict[str, Any]:
        return dict((obj or {}).get("status") or {})

    def patch(self, namespace: str, name: str, patch: Any) -> dict[str, Any]:
        return self.kube.merge_flagger_canary(namespace, name, patch)

    # -- how far it got -------------------------------------------------------------------------------
    def in_update(self, obj: dict[str, Any]) -> bool:
        return self.status(obj).get("phase") in ANALYSING + PROMOTING

    def settled(self, obj: dict[str, Any] | None, replicas: int) -> bool:
        """Succeeded with the target's template promoted to the primary, all of it ready."""
        return obj is not None and self.status(obj).get("phase") == "Succeeded" and self.ready(obj) >= replicas \
            and obj["primary"]["spec"]["template"]["spec"]["containers"] == \
            obj["workload"]["spec"]["template"]["spec"]["containers"]

    def paused_at(self, obj: dict[str, Any] | None) -> int | None:
        """At the last weight while Flagger waits at confirm-promotion."""
        return len(weights(obj or {})) - 1 if self.status(obj).get("phase") == "WaitingPromotion" else None

    @staticmethod
    def message(obj: dict[str, Any] | None) -> str:
        conditions = FlaggerCanaries.status(obj).get("conditions") or []
        return next((str(c.get("message", "")) for c in conditions if c.get("type") == "Promoted"), "")

    def progress(self, obj: dict[str, Any] | None, replicas: int) -> str:
        s = self.status(obj)
        said = self.message(obj)
        return f"{s.get('phase', 'Initializing')}, weight {s.get('canaryWeight', 0)}%" + (f": {said}" if said else "")

    def deadline_failure(self, obj: dict[str, Any] | None) -> str:
        return ""

    def describe(self, obj: dict[str, Any] | None) -> dict[str, Any]:
        s, steps = self.status(obj), weights(obj or {})
        weight = int(s.get("canaryWeight", 0))
        at = max([i for i, w in enumerate(steps) if w <= weight] or [-1]) if weight else -1
        if s.get("phase") in PROMOTING + ("Succeeded",) and self.in_update(obj or {}):
            at = len(steps)
        new = int(((obj or {}).get("workload") or {}).get("status", {}).get("availableReplicas", 0))
        return {"controller": {"kind": "Flagger Canary", "phase": s.get("phase", ""), "message": self.message(obj),
                               "step": at, "steps": [f"setWeight {w}" for w in steps], "weight": weight},
                "new_ready": new, "old_ready": self.ready(obj)}

    # -- its steps as a release's stages ------------------------------------------------------------
    def steps(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"setWeight": w} for w in weights(obj)]

    def pause_points(self, steps: list[dict[str, Any]]) -> list[int]:
        """One: at the last weight, where confirm-promotion waits for a person."""
        return [len(steps) - 1] if steps else []

    def stages(self, obj: dict[str, Any], replicas: int) -> tuple[Stage, ...]:
        steps = self.steps(obj)
        return stages_of(steps, self.pause_points(steps), replicas, lambda all_steps, end: all_steps[end]["setWeight"],
                         lambda step: f"setWeight {step['setWeight']}")

    def origin(self, obj: dict[str, Any]) -> dict[str, Any]:
        """What tells this release's analysis from an earlier one: the revision Flagger last saw, and when."""
        return {"applied": self.status(obj).get("lastAppliedSpec", ""),
                "since": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def problems(self, obj: dict[str, Any]) -> list[str]:
        """What this Canary lacks for graybot to answer its gates."""
        missing = {"confirm-promotion", "rollback"} - graybot_hooks(obj)
        return [f"its analysis.webhooks have no {hook} webhook with a graybot gate URL (…{GATE_PATH}{hook})"
                for hook in sorted(missing)]

    def trouble(self, obj: dict[str, Any], origin: dict[str, Any], first_stage: bool) -> tuple[str, str]:
        """Flagger failed this release's analysis (its threshold of failed checks, or a rollback)."""
        s = self.status(obj)
        if s.get("phase") == "Failed" and s.get("lastAppliedSpec") != origin.get("applied") \
                and str(s.get("lastTransitionTime", "")) >= origin.get("since", ""):
            return "fail", f"Flagger rolled the canary back: {self.message(obj) or 'its analysis failed'}"
        return "", ""

    # -- its verbs -------------------------------------------------------------------------------------
    def _open(self, namespace: str, name: str, hook: str, *fallbacks: str) -> bool:
        """Open `hook` for the revision Flagger last asked about (a gate is per revision)."""
        if self.gates is None:
            return False
        where = place(self.kube.name or DEFAULT_CLUSTER, namespace, name)
        asked = self.gates.asked(where)
        found = next((asked[h] for h in (hook,) + fallbacks if h in asked), None)
        if found is None:
            return False
        self.gates.open(where, found.checksum, hook)
        return True

    def promote(self, namespace: str, name: str) -> None:
        self._open(namespace, name, "confirm-promotion")

    def undo(self, obj: dict[str, Any], container: str, from_image: str, replicas: int) -> tuple[bool, str]:
        """Rollback: during the analysis, the rollback gate opened (Flagger routes everything back to
        the primary and scales the canary to zero); before it, the template put back."""
        ns, name, phase = obj["metadata"]["namespace"], obj["metadata"]["name"], self.status(obj).get("phase")
        if phase == "Failed":
            return True, f"{name}: Flagger rolled back ({self.message(obj) or 'failed'})"
        if phase in ANALYSING:
            opened = self._open(ns, name, "rollback", "confirm-promotion", "confirm-traffic-increase")
            return False, f"{name}: " + ("the rollback gate is open; Flagger rolls back at its next check"
                                         if opened else "waiting for Flagger to call the rollback gate")
        if phase in PROMOTING:
            return False, f"{name}: Flagger is promoting; a promotion cannot be stopped"
        if self.image_of(obj, container) != from_image:
            self.set_image(ns, name, container, from_image)
            return False, f"{name}: the stable image back in the target's template"
        return True, f"{name}: {self.progress(obj, replicas)}"

    def pause(self, namespace: str, name: str) -> None:
        self.kube.merge_flagger_canary(namespace, name, {"spec": {"suspend": True}})

    def resume(self, namespace: str, name: str) -> None:
        self.kube.merge_flagger_canary(namespace, name, {"spec": {"suspend": False}})
