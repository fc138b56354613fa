"""OpenKruise Rollouts as its API objects show it: the `Rollout` kind (rollouts.kruise.io/v1beta1)
of a Deployment (`spec.workloadRef`), run by a controller written from Kruise Rollouts' types and
docs, for a canary by replicas:

- when the Deployment's pod template differs from the stable revision, the controller pauses the
  Deployment (its old pods keep serving) and runs the steps on a canary Deployment
  (`DEPLOYMENT-HASH`): each step scales the canary to its `replicas` (a count or a percentage)
  (`currentStepState: StepUpgrade`), then waits: `pause: {duration: N}` for N seconds, any other
  step in `StepPaused` until a client sets `StepReady` (kubectl-kruise rollout approve);
  `status.canaryStatus.currentStepIndex` counts from 1;
- after the last step the Deployment is unpaused and rolls to the new template, the canary goes,
  and the new revision is the stable one (`Completed`, phase Healthy);
- a Deployment template put back to the stable revision ends the canary the same way (a rollback);
- `spec.strategy.paused` holds everything.
Status is written only by the controller and through the status subresource.
"""
from __future__ import annotations

import math
import time

from . import rollout as R
from .objstore import ObjectStore, clone

KRUISE, DEPLOY = ("rollouts.kruise.io", "rollouts"), ("apps", "deployments")


def _count(value: object, total: int) -> int:
    text = str(value)
    return math.ceil(total * int(text[:-1]) / 100) if text.endswith("%") else int(text)


class KruiseRolloutController:
    def __init__(self, store: ObjectStore):
        self.store = store
        self.waiting_since: dict[str, float] = {}        # rollout uid -> when its timed pause began

    def sync_all(self) -> None:
        for ro in self.store.peek(KRUISE):
            self.sync(clone(ro))

    def sync(self, ro: dict) -> None:
        ns, spec = ro["metadata"]["namespace"], ro["spec"]
        deploy = self.store.get(DEPLOY, ns, (spec.get("workloadRef") or {}).get("name", ""))
        if deploy is None:
            return self._write(ro, dict(ro.get("status") or {}, phase="Initial", message="workload not found"))
        status = dict(ro.get("status") or {})
        digest = R.template_hash(deploy["spec"]["template"])
        status.setdefault("stableRevision", digest)
        steps = ((spec.get("strategy") or {}).get("canary") or {}).get("steps") or []
        replicas = deploy["spec"].get("replicas", 1)
        if digest == status["stableRevision"]:
            self._finish(ro, deploy, status, digest, "Healthy")
        elif (spec.get("strategy") or {}).get("paused"):
            status.update(phase="Progressing", message="Rollout is paused")
        else:
            self._canary(ro, deploy, status, digest, steps, replicas)
        self._write(ro, status)

    def _canary(self, ro: dict, deploy: dict, status: dict, digest: str, steps: list, replicas: int) -> None:
        canary = dict(status.get("canaryStatus") or {})
        if canary.get("canaryRevision") != digest:
            canary = {"canaryRevision": digest, "podTemplateHash": digest, "currentStepIndex": 1,
                      "currentStepState": "StepUpgrade"}
            self._set_paused(deploy, True)
        index = int(canary["currentStepIndex"])
        if canary["currentStepState"] == "StepReady":
            if index >= len(steps):
                status["stableRevision"] = digest                  # the last step approved: promote
                return self._finish(ro, deploy, status, digest, "Progressing")
            canary.update(currentStepIndex=index + 1, currentStepState="StepUpgrade")
            index += 1
        step = steps[index - 1] if steps else {"replicas": "100%"}
        want = _count(step.get("replicas", "100%"), replicas)
        pod = self._canary_deployment(ro, deploy, digest, want)
        ready = (pod.get("status") or {}).get("availableReplicas", 0)
        canary.update(canaryReplicas=want, canaryReadyReplicas=ready)
        uid = ro["metadata"]["uid"]
        if canary["currentStepState"] == "StepUpgrade" and ready >= want:
            canary["currentStepState"] = "StepPaused"
            self.waiting_since[uid] = time.monotonic()
        duration = (step.get("pause") or {}).get("duration")
        if canary["currentStepState"] == "StepPaused" and duration is not None \
                and time.monotonic() - self.waiting_since.get(uid, time.monotonic()) >= float(duration):
            canary["currentStepState"] = "StepReady"
        status.update(canaryStatus=canary, phase="Progressing",
                      message=f"Rollout is in step({index}/{len(steps)}), and {canary['currentStepState']}")

    def _finish(self, ro: dict, deploy: dict, status: dict, digest: str, phase: str) -> None:
        """No canary (any more): the Deployment rolls on its own; the canary Deployment goes."""
        self._set_paused(deploy, False)
        for old in [d for d in self.store.peek(DEPLOY, deploy["metadata"]["namespace"])
                    if R.owned_by(d, ro)]:
            self.store.delete(DEPLOY, old["metadata"]["namespace"], old["metadata"]["name"])
        fresh = self.store.get(DEPLOY, deploy["metadata"]["namespace"], deploy["metadata"]["name"]) or deploy
        settled = R.complete(fresh, fresh.get("status") or {})
        status.pop("canaryStatus", None) if digest == status["stableRevision"] and settled else None
        if status.get("canaryStatus"):
            status["canaryStatus"] = dict(status["canaryStatus"], currentStepState="Completed")
        status.update(phase="Healthy" if settled else "Progressing",
                      message="workload deployment is completed" if settled else "the workload rolls to the new revision")

    def _set_paused(self, deploy: dict, paused: bool) -> None:
        if bool(deploy["spec"].get("paused")) != paused:
            fresh = clone(self.store.get(DEPLOY, deploy["metadata"]["namespace"], deploy["metadata"]["name"]))
            fresh["spec"]["paused"] = paused
            fresh["metadata"]["generation"] = fresh["metadata"].get("generation", 1) + 1
            deploy.update(self.store.update(DEPLOY, fresh))

    def _canary_deployment(self, ro: dict, deploy: dict, digest: str, replicas: int) -> dict:
        ns, name = deploy["metadata"]["namespace"], f"{deploy['metadata']['name']}-{digest}"
        found = self.store.get(DEPLOY, ns, name)
        if found is None:
            body = clone(deploy)
            body["metadata"] = {"name": name, "namespace": ns, "labels": dict(deploy["metadata"].get("labels") or {}),
                                "ownerReferences": [R.owner_ref(ro)], "generation": 1}
            body["spec"].update(replicas=replicas, paused=False)
            body["status"] = {}
            return self.store.create(DEPLOY, body)
        if found["spec"].get("replicas") != replicas:
            found = clone(found)
            found["spec"]["replicas"] = replicas
            found["metadata"]["generation"] = found["metadata"].get("generation", 1) + 1
            return self.store.update(DEPLOY, found)
        return found

    def _write(self, ro: dict, status: dict) -> None:
        fresh = self.store.get(KRUISE, ro["metadata"]["namespace"], ro["metadata"]["name"])
        if fresh is None or fresh.get("status") == status \
                or fresh["metadata"]["resourceVersion"] != ro["metadata"]["resourceVersion"]:
            return
        updated = clone(fresh)
        updated["status"] = status
        self.store.update(KRUISE, updated)
