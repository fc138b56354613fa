"""Argo Rollouts as its API objects show it: the `Rollout` kind (argoproj.io/v1alpha1) with a
canary strategy and no traffic router (the new version's share is its share of the pods, as
Argo's basic canary does), run by a controller written from Argo Rollouts' types and docs:

- a new pod template gets its own ReplicaSet (`ROLLOUT-HASH`, label `rollouts-pod-template-hash`);
  `status.currentPodHash` names it, `status.stableRS` the one that serves when no update runs;
- steps run in order from `status.currentStepIndex`: `setWeight: W` scales the canary to
  ceil(W% of spec.replicas) and the stable to the rest, done when both are available;
  `pause: {}` adds a `CanaryPauseStep` pause condition and sets `controllerPause` until a client
  clears `status.pauseConditions` (kubectl argo rollouts promote); `pause: {duration}` clears
  its own after that long; `analysis` starts an AnalysisRun that fails when the canary's image
  tag starts with `errors`, which aborts the update;
- `status.abort: true` scales the canary to 0 and the stable back (phase Degraded, message
  RolloutAborted); `false` again (retry) restarts the steps; `status.promoteFull` and the end of
  the steps make the canary the stable; `spec.paused` holds everything (phase Paused).
Status is written only by the controller; clients write it through the `status` subresource.
"""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone

from . import rollout as R
from .objstore import ObjectStore, clone, now_rfc3339

ROLLOUT, RS, ANALYSIS = ("argoproj.io", "rollouts"), ("apps", "replicasets"), ("argoproj.io", "analysisruns")
HASH_LABEL = "rollouts-pod-template-hash"
MANAGER = "argo-rollouts"


def _seconds(text: object) -> float:
    raw = str(text)
    units = {"s": 1, "m": 60, "h": 3600}
    return float(raw[:-1]) * units[raw[-1]] if raw and raw[-1] in units else float(raw)


def _when(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


class RolloutController:
    def __init__(self, store: ObjectStore):
        self.store = store

    def sync_all(self) -> None:
        for rollout in self.store.peek(ROLLOUT):
            self.sync(clone(rollout))

    # -- one Rollout ------------------------------------------------------------------------
    def sync(self, ro: dict) -> None:
        spec, status = ro["spec"], dict(ro.get("status") or {})
        steps = ((spec.get("strategy") or {}).get("canary") or {}).get("steps") or []
        replicas = spec.get("replicas", 1)
        current = self._replicaset(ro)
        digest = current["metadata"]["labels"][HASH_LABEL]
        if status.get("currentPodHash") != digest:          # a new template: its steps from the start
            status.update(currentPodHash=digest, currentStepIndex=0, pauseConditions=None,
                          controllerPause=None, abort=None, abortedAt=None, promoteFull=None, canary=None)
        status.setdefault("stableRS", digest)                # the first template is stable at once
        stable = self._by_hash(ro, status["stableRS"]) or current
        if digest == status["stableRS"]:
            self._scale(ro, current, replicas, others=0)
            status.update(currentStepIndex=len(steps))
        elif status.get("abort"):                            # steps start again on a retry
            self._scale(ro, stable, replicas, others=0)
            status.update(pauseConditions=None, controllerPause=None, currentStepIndex=0)
            status["abortedAt"] = status.get("abortedAt") or now_rfc3339()
        elif not spec.get("paused"):
            self._steps(ro, status, steps, current, stable, replicas)
        self._write(ro, self._status(ro, status, current, stable, steps, replicas))

    def _steps(self, ro: dict, status: dict, steps: list, current: dict, stable: dict, replicas: int) -> None:
        if status.get("promoteFull"):
            status["currentStepIndex"] = len(steps)
        while (index := status.get("currentStepIndex") or 0) < len(steps):
            if not self._step_done(ro, status, steps[index], index, current, stable, replicas):
                return
            status.update(currentStepIndex=index + 1, pauseConditions=None, controllerPause=None)
        if self._scale(ro, current, replicas, others=None) and self._available(current) >= replicas:
            status.update(stableRS=status["currentPodHash"], promoteFull=None)     # fully promoted
            self._scale(ro, current, replicas, others=0)

    def _step_done(self, ro: dict, status: dict, step: dict, index: int, current: dict, stable: dict,
                   replicas: int) -> bool:
        if "setWeight" in step:
            canary = math.ceil(replicas * int(step["setWeight"]) / 100)
            self._scale_pair(current, canary, stable, replicas - canary)
            return self._available(current) >= canary and self._available(stable) >= replicas - canary
        if "pause" in step:
            pauses = status.get("pauseConditions") or []
            if not pauses:
                if status.get("controllerPause"):           # a client cleared it: promoted
                    return True
                status.update(pauseConditions=[{"reason": "CanaryPauseStep", "startTime": now_rfc3339()}],
                              controllerPause=True)
                return False
            duration = (step["pause"] or {}).get("duration")
            return duration is not None and time.time() - _when(pauses[0]["startTime"]) >= _seconds(duration)
        if "analysis" in step:
            run = self._analysis(ro, status["currentPodHash"], index, current)
            status["canary"] = {"currentStepAnalysisRunStatus": {
                "name": run["metadata"]["name"], "status": run["status"]["phase"], "message": run["status"]["message"]}}
            if run["status"]["phase"] == "Failed":
                status.update(abort=True, abortedAt=now_rfc3339())
                return False
            return True
        return True                                          # a step this sandbox does not model

    def _analysis(self, ro: dict, digest: str, index: int, current: dict) -> dict:
        name = f"{ro['metadata']['name']}-{digest}-{index}"
        ns = ro["metadata"]["namespace"]
        found = self.store.get(ANALYSIS, ns, name)
        if found is not None:
            return found
        image = current["spec"]["template"]["spec"]["containers"][0]["image"]
        failed = "errors" in image.rsplit(":", 1)[-1]      # the sandbox's image tags (docs/sandbox.md)
        message = ('Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)' if failed
                   else 'Metric "error-rate" assessed Successful')
        run = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
               "metadata": {"name": name, "namespace": ns, "ownerReferences": [R.owner_ref(ro)]},
               "spec": {"metrics": [{"name": "error-rate", "failureLimit": 0}]},
               "status": {"phase": "Failed" if failed else "Successful", "message": message,
                          "metricResults": [{"name": "error-rate", "phase": "Failed" if failed else "Successful",
                                             "failed": 1 if failed else 0, "count": 1}]}}
        return self.store.create(ANALYSIS, run)

    # -- ReplicaSets ------------------------------------------------------------------------
    def _owned(self, ro: dict) -> list[dict]:
        return list(self.store.children(RS, ro["metadata"]["uid"]))

    def _by_hash(self, ro: dict, digest: str) -> dict | None:
        return next((rs for rs in self._owned(ro) if rs["metadata"]["labels"].get(HASH_LABEL) == digest), None)

    def _replicaset(self, ro: dict) -> dict:
        template = clone(ro["spec"]["template"])
        digest = R.template_hash(template)
        found = self._by_hash(ro, digest)
        if found is not None:
            return found
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = digest
        selector = clone(ro["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = digest
        return self.store.create(RS, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{ro['metadata']['name']}-{digest}", "namespace": ro["metadata"]["namespace"],
                         "labels": dict(template["metadata"]["labels"]), "ownerReferences": [R.owner_ref(ro)],
                         "generation": 1},
            "spec": {"replicas": 0, "selector": selector, "template": template}, "status": {"replicas": 0}})

    def _set(self, rs: dict, replicas: int) -> None:
        if rs["spec"].get("replicas") != replicas:
            fresh = clone(self.store.get(RS, rs["metadata"]["namespace"], rs["metadata"]["name"]))
            fresh["spec"]["replicas"] = replicas
            fresh["metadata"]["generation"] = fresh["metadata"].get("generation", 1) + 1
            rs.update(self.store.update(RS, fresh))

    def _scale(self, ro: dict, keep: dict, replicas: int, others: int | None) -> bool:
        self._set(keep, replicas)
        if others is not None:
            for rs in self._owned(ro):
                if rs["metadata"]["uid"] != keep["metadata"]["uid"]:
                    self._set(rs, others)
        return True

    def _scale_pair(self, canary: dict, n: int, stable: dict, m: int) -> None:
        self._set(canary, n)
        if stable["metadata"]["uid"] != canary["metadata"]["uid"]:
            self._set(stable, m)

    @staticmethod
    def _available(rs: dict) -> int:
        return (rs.get("status") or {}).get("availableReplicas", 0)

    # -- status -------------------------------------------------------------------------------
    def _status(self, ro: dict, status: dict, current: dict, stable: dict, steps: list, replicas: int) -> dict:
        owned = self._owned(ro)
        status.update(replicas=sum((rs.get("status") or {}).get("replicas", 0) for rs in owned),
                      readyReplicas=sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in owned),
                      availableReplicas=sum(self._available(rs) for rs in owned),
                      updatedReplicas=self._available(current),
                      observedGeneration=str(ro["metadata"].get("generation", 1)))
        if status.get("abort"):
            run = (status.get("canary") or {}).get("currentStepAnalysisRunStatus") or {}
            why = run.get("message") if run.get("status") == "Failed" else ""
            status.update(phase="Degraded", message=f"RolloutAborted: Rollout aborted update to revision {len(owned)}"
                          + (f": {why}" if why else ""))
        elif ro["spec"].get("paused"):
            status.update(phase="Paused", message="manually paused")
        elif status.get("pauseConditions"):
            status.update(phase="Paused", message="CanaryPauseStep")
        elif status["stableRS"] == status["currentPodHash"] and status["availableReplicas"] >= replicas \
                and status["replicas"] == replicas:
            status.update(phase="Healthy", message="")
        else:
            status.update(phase="Progressing", message="more replicas need to be updated" if
                          status["stableRS"] == status["currentPodHash"] else
                          f"waiting for step {status.get('currentStepIndex', 0) + 1} of {len(steps)}")
        return {k: v for k, v in status.items() if v is not None}

    def _write(self, ro: dict, status: dict) -> None:
        fresh = self.store.get(ROLLOUT, ro["metadata"]["namespace"], ro["metadata"]["name"])
        if fresh is None or fresh.get("status") == status:
            return
        if fresh["metadata"]["resourceVersion"] != ro["metadata"]["resourceVersion"]:
            return                      # a client wrote meanwhile: the next pass sees it
        updated = clone(fresh)
        updated["status"] = status
        self.store.update(ROLLOUT, updated)
