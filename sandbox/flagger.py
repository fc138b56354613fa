"""Flagger as its API objects and webhooks show it: the `Canary` kind (flagger.app/v1beta1) of a
Deployment (`spec.targetRef`), run by a loop written from Flagger's scheduler (pkg/controller/
scheduler.go `advanceCanary`, scheduler_hooks.go, webhook.go), once per `analysis.interval`:

- initialisation: `TARGET-primary` made from the target's template and sized as it, the target
  scaled to zero; phase Initialized, lastAppliedSpec = lastPromotedSpec = the template's hash;
- a new revision (the target's template hash differs from lastAppliedSpec) in Initialized,
  Succeeded, Failed or Waiting: the `confirm-rollout` webhooks (payload phase: the Canary's);
  closed -> phase Waiting; open -> the target scaled up, phase Progressing, weight 0;
- Progressing: a `rollback` webhook that answers 2xx rolls back; a failed check (here: the target
  runs an `errors` image, which fails Flagger's request-success-rate) counts toward
  `threshold`, which rolls back; otherwise, below maxWeight, the `confirm-traffic-increase`
  webhooks then one step (stepWeight or stepWeights); at maxWeight the `confirm-promotion` webhooks
  (closed -> WaitingPromotion, asked again every interval), then the target's template copied to
  the primary (Promoting), all traffic to the primary (Finalising), the target scaled to zero
  (Succeeded);
- a rollback: weight 0, the target scaled to zero, phase Failed, condition Promoted False;
- a template changed during the analysis restarts it at weight 0; `spec.suspend` stops the loop.
Webhooks are POSTed `{"name", "namespace", "phase", "checksum", "metadata"}` with their `timeout`
(default 10 s); 200-202 passes. The checksum hashes trackedConfigs and lastAppliedSpec, as
Flagger's `canaryChecksum` does. Weights live in `status.canaryWeight`: no mesh routes here.
The loop runs in its own thread: a webhook call never holds the store's lock."""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from datetime import datetime, timezone

from . import rollout as R
from .objstore import ObjectStore, clone

log = logging.getLogger("graybot.sandbox.flagger")
CANARIES, DEPLOY = ("flagger.app", "canaries"), ("apps", "deployments")
FRESH = ("", "Initializing")
AT_REST = ("Initialized", "Succeeded", "Failed", "Waiting")
SELECTOR_LABELS = ("app", "name", "app.kubernetes.io/name")


def seconds(text: object, default: float) -> float:
    raw = str(text or "")
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in sorted(units, key=len, reverse=True):
        if raw.endswith(unit) and raw[:-len(unit)].replace(".", "", 1).isdigit():
            return float(raw[:-len(unit)]) * units[unit]
    return default


def checksum(status: dict) -> str:
    return R.template_hash({"TrackedConfigs": status.get("trackedConfigs"),
                            "LastAppliedSpec": status.get("lastAppliedSpec", "")})


def primary_labels(meta: dict) -> dict:
    """Flagger's selector labels (app, name, app.kubernetes.io/name) renamed VALUE-primary on the
    primary, so the target's and the primary's pods never share a selector."""
    return {k: f"{v}-primary" if k in SELECTOR_LABELS else v for k, v in (meta.get("labels") or {}).items()}


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FlaggerController:
    def __init__(self, store: ObjectStore, tick: float = 0.1):
        self.store, self.tick = store, tick
        self.last_run: dict[str, float] = {}         # canary uid -> when its analysis last ran
        self.calls: deque[tuple[str, str, dict, int]] = deque(maxlen=500)   # (type, url, payload, status)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.tick):
            for cd in self.store.peek(CANARIES):
                uid = cd["metadata"]["uid"]
                interval = seconds(self.analysis(cd).get("interval"), 60.0)
                if time.monotonic() - self.last_run.get(uid, -1e9) < interval:
                    continue
                self.last_run[uid] = time.monotonic()
                try:
                    self.advance(clone(cd))
                except Exception:       # one canary's bug must not stop the others
                    log.exception("flagger pass of %s failed", cd["metadata"]["name"])

    @staticmethod
    def analysis(cd: dict) -> dict:
        return cd["spec"].get("analysis") or cd["spec"].get("canaryAnalysis") or {}

    # -- one pass (advanceCanary) --------------------------------------------------------------------
    def advance(self, cd: dict) -> None:
        if cd["spec"].get("suspend"):
            return
        ns, status = cd["metadata"]["namespace"], dict(cd.get("status") or {})
        target = self.store.get(DEPLOY, ns, cd["spec"]["targetRef"]["name"])
        if target is None:
            return
        primary = self.store.get(DEPLOY, ns, f"{target['metadata']['name']}-primary")
        if status.get("phase", "") in FRESH or primary is None:
            return self._initialise(cd, target)
        digest, phase = R.template_hash(target["spec"]["template"]), status.get("phase")
        if phase in AT_REST:
            if digest != status.get("lastAppliedSpec"):
                self._new_revision(cd, target, primary, status, digest)
            return
        if phase in ("Progressing", "WaitingPromotion") and digest != status.get("lastAppliedSpec"):
            return self._status(cd, dict(status, phase="Progressing", canaryWeight=0, failedChecks=0, iterations=0,
                                         lastAppliedSpec=digest))
        if not R.complete(target, target.get("status") or {}):
            return                                               # IsCanaryReady: not yet
        if phase in ("Progressing", "WaitingPromotion") and self._hooks(cd, "rollback", phase, any_passes=True):
            return self._rollback(cd, target, status, "Rolling back: manual webhook invoked")
        if phase == "Promoting":
            return self._status(cd, dict(status, phase="Finalising", canaryWeight=0))
        if phase == "Finalising":
            self._scale(target, 0)
            return self._status(cd, dict(status, phase="Succeeded", lastPromotedSpec=status.get("lastAppliedSpec"),
                                         conditions=[self._promoted("True", "Succeeded",
                                                     "Canary analysis completed successfully, promotion finished.")]))
        self._analyse(cd, target, primary, status)

    def _analyse(self, cd: dict, target: dict, primary: dict, status: dict) -> None:
        a = self.analysis(cd)
        if status.get("failedChecks", 0) >= int(a.get("threshold", 1)):
            return self._rollback(cd, target, status, "Canary analysis failed, Deployment scaled to zero.")
        if status.get("canaryWeight", 0) and "errors" in target["spec"]["template"]["spec"]["containers"][0]["image"]:
            return self._status(cd, dict(status, failedChecks=status.get("failedChecks", 0) + 1))
        weight, top = int(status.get("canaryWeight", 0)), self.max_weight(a)
        if weight < top:
            if self._hooks(cd, "confirm-traffic-increase", "Progressing"):
                self._status(cd, dict(status, canaryWeight=min(100, weight + self.next_step(a, weight)),
                                      iterations=status.get("iterations", 0) + 1))
            return
        if not self._hooks(cd, "confirm-promotion", "Progressing"):
            if status.get("phase") != "WaitingPromotion":
                self._status(cd, dict(status, phase="WaitingPromotion"))
            return
        fresh = clone(self.store.get(DEPLOY, primary["metadata"]["namespace"], primary["metadata"]["name"]))
        fresh["spec"]["template"] = clone(target["spec"]["template"])
        fresh["spec"]["template"]["metadata"]["labels"] = primary_labels(target["spec"]["template"]["metadata"])
        fresh["metadata"]["generation"] = fresh["metadata"].get("generation", 1) + 1
        self.store.update(DEPLOY, fresh)
        self._status(cd, dict(status, phase="Promoting"))

    @staticmethod
    def max_weight(a: dict) -> int:
        if a.get("stepWeights"):
            return min(100, int(a["stepWeights"][-1]))
        return int(a.get("maxWeight") or 100)

    @staticmethod
    def next_step(a: dict, weight: int) -> int:
        if a.get("stepWeight") or not a.get("stepWeights"):
            return int(a.get("stepWeight") or 0)
        steps = [int(w) for w in a["stepWeights"]]
        return next((w - weight for w in steps if w > weight), 100 - weight)

    # -- transitions -----------------------------------------------------------------------------------
    def _initialise(self, cd: dict, target: dict) -> None:
        ns, name = target["metadata"]["namespace"], f"{target['metadata']['name']}-primary"
        if self.store.get(DEPLOY, ns, name) is None:
            body = clone(target)
            body["metadata"] = {"name": name, "namespace": ns, "labels": primary_labels(target["metadata"]),
                                "ownerReferences": [R.owner_ref(cd)], "generation": 1}
            body["spec"]["selector"]["matchLabels"] = primary_labels({"labels": body["spec"]["selector"]["matchLabels"]})
            body["spec"]["template"]["metadata"]["labels"] = primary_labels(body["spec"]["template"]["metadata"])
            body["status"] = {}
            self.store.create(DEPLOY, body)
        self._scale(target, 0)
        digest = R.template_hash(target["spec"]["template"])
        self._status(cd, {"phase": "Initialized", "canaryWeight": 0, "failedChecks": 0, "iterations": 0,
                          "lastAppliedSpec": digest, "lastPromotedSpec": digest,
                          "conditions": [self._promoted("True", "Initialized", "Deployment initialization completed.")]})

    def _new_revision(self, cd: dict, target: dict, primary: dict, status: dict, digest: str) -> None:
        if status.get("phase") == "Failed":           # shouldAdvance syncs lastAppliedSpec first
            status = self._status(cd, dict(status, lastAppliedSpec=digest))
            cd = self.store.get(CANARIES, cd["metadata"]["namespace"], cd["metadata"]["name"]) or cd
        if not self._hooks(cd, "confirm-rollout", status.get("phase", "")):
            if status.get("phase") != "Waiting":
                self._status(cd, dict(status, phase="Waiting"))
            return
        self._scale(target, int(primary["spec"].get("replicas", 1)))
        self._status(cd, dict(status, phase="Progressing", canaryWeight=0, failedChecks=0, iterations=0,
                              lastAppliedSpec=digest,
                              conditions=[self._promoted("Unknown", "Progressing", "New revision detected, "
                                                         "progressing canary analysis.")]))

    def _rollback(self, cd: dict, target: dict, status: dict, message: str) -> None:
        self._scale(target, 0)
        self._status(cd, dict(status, phase="Failed", canaryWeight=0,
                              conditions=[self._promoted("False", "Failed", message)]))

    @staticmethod
    def _promoted(state: str, reason: str, message: str) -> dict:
        return {"type": "Promoted", "status": state, "reason": reason, "message": message,
                "lastUpdateTime": now(), "lastTransitionTime": now()}

    def _scale(self, deploy: dict, replicas: int) -> None:
        fresh = self.store.get(DEPLOY, deploy["metadata"]["namespace"], deploy["metadata"]["name"])
        if fresh is not None and fresh["spec"].get("replicas") != replicas:
            fresh = clone(fresh)
            fresh["spec"]["replicas"] = replicas
            fresh["metadata"]["generation"] = fresh["metadata"].get("generation", 1) + 1
            self.store.update(DEPLOY, fresh)

    def _status(self, cd: dict, status: dict) -> dict:
        """Written through the store as the status subresource would (the spec as it is now)."""
        with self.store.lock:
            fresh = self.store.get(CANARIES, cd["metadata"]["namespace"], cd["metadata"]["name"])
            if fresh is None:
                return status
            if status.get("phase") != (fresh.get("status") or {}).get("phase"):
                status["lastTransitionTime"] = now()
            updated = clone(fresh)
            updated["status"] = status
            self.store.update(CANARIES, updated)
        return status

    # -- webhooks (webhook.go CallWebhook) --------------------------------------------------------------
    def _hooks(self, cd: dict, kind: str, phase: str, any_passes: bool = False) -> bool:
        """Every hook of `kind` passes (no hook: True); with `any_passes`, whether one passes."""
        hooks = [w for w in self.analysis(cd).get("webhooks") or [] if w.get("type") == kind]
        if not hooks:
            return not any_passes
        results = [self._call(cd, w, phase) for w in hooks]
        return any(results) if any_passes else all(results)

    def _call(self, cd: dict, hook: dict, phase: str) -> bool:
        payload = {"name": cd["metadata"]["name"], "namespace": cd["metadata"]["namespace"], "phase": phase,
                   "checksum": checksum(cd.get("status") or {}), "metadata": dict(hook.get("metadata") or {})}
        request = urllib.request.Request(hook["url"], data=json.dumps(payload).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=seconds(hook.get("timeout"), 10.0)) as resp:
                code = resp.status
        except urllib.error.HTTPError as err:
            code = err.code
        except (OSError, ValueError):
            code = 0
        self.calls.append((hook.get("type", ""), hook["url"], payload, code))
        return 200 <= code <= 202
