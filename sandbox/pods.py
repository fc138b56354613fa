"""The ReplicaSet controller and a kubelet stand-in: pods per ReplicaSet, readiness by image.

Image tags decide health (docs/sandbox.md): `broken` never gets Ready and its restart
count climbs (CrashLoopBackOff); `slow` is Ready after `slow_delay`; anything else after
`ready_delay`. `errors` pods are Ready; the traffic simulator makes them fail 20% of requests (`errors-N`: N%).
"""
from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass

from . import rollout as R
from .objstore import ObjectStore, clone, now_rfc3339

POD, RS, DEPLOY = ("", "pods"), ("apps", "replicasets"), ("apps", "deployments")
ROLLOUT = ("argoproj.io", "rollouts")       # Argo Rollouts own ReplicaSets too (argo_rollouts.py)


@dataclass
class Timing:
    ready_delay: float = 0.3       # seconds from creation to Ready for a healthy image
    slow_delay: float = 20.0       # for an image tagged `slow`
    restart_every: float = 1.0     # a `broken` container restarts this often
    tick: float = 0.05             # controller loop period


def image_tag(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


class PodSimulator:
    def __init__(self, store: ObjectStore, timing: Timing):
        self.store = store
        self.timing = timing
        self.born: dict[str, float] = {}       # pod uid -> monotonic creation time
        self.ready_at: dict[str, float] = {}   # pod uid -> monotonic time it became Ready
        self.settled: set[str] = set()         # pod uids whose status cannot change any more

    # -- ReplicaSet controller ---------------------------------------------------------
    def sync_replicasets(self) -> None:
        for rs in self.store.peek(RS):
            mine = list(self.store.children(POD, rs["metadata"]["uid"]))
            if self._steady(rs, mine):
                continue
            want = rs["spec"].get("replicas", 0)
            if len(mine) < want:
                mine += [self._create_pod(rs) for _ in range(want - len(mine))]
            elif len(mine) > want:
                doomed = sorted(mine, key=lambda p: (self._ready(p), -self.born.get(p["metadata"]["uid"], 0)))
                for pod in doomed[:len(mine) - want]:
                    self._delete_pod(pod)
                    mine.remove(pod)
            self._rs_status(rs, mine)

    def _steady(self, rs: dict, pods: list[dict]) -> bool:
        """Nothing can change for this ReplicaSet until it or one of its pods is written:
        the right number of pods, all settled, and a status that already says so."""
        status = rs.get("status") or {}
        return (len(pods) == rs["spec"].get("replicas", 0) == status.get("availableReplicas", 0)
                and status.get("observedGeneration") == rs["metadata"].get("generation", 1)
                and all(p["metadata"]["uid"] in self.settled for p in pods))

    def _create_pod(self, rs: dict) -> dict:
        suffix = "".join(random.choice(R.HASH_ALPHABET) for _ in range(5))
        template = copy.deepcopy(rs["spec"]["template"])
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"{rs['metadata']['name']}-{suffix}",
                            "namespace": rs["metadata"]["namespace"],
                            "labels": template["metadata"].get("labels", {}),
                            "annotations": template["metadata"].get("annotations", {}),
                            "ownerReferences": [R.owner_ref(rs)], "generation": 1},
               "spec": dict(template["spec"], nodeName="sandbox-node"),
               "status": {"phase": "Pending", "qosClass": "BestEffort",
                          "conditions": [{"type": "PodScheduled", "status": "True",
                                          "lastTransitionTime": now_rfc3339()}]}}
        pod = self.store.create(POD, pod)
        self.born[pod["metadata"]["uid"]] = time.monotonic()
        return pod

    def _delete_pod(self, pod: dict) -> None:
        self.store.delete(POD, pod["metadata"]["namespace"], pod["metadata"]["name"])
        self.born.pop(pod["metadata"]["uid"], None)
        self.ready_at.pop(pod["metadata"]["uid"], None)
        self.settled.discard(pod["metadata"]["uid"])

    def _ready(self, pod: dict) -> bool:
        return pod["metadata"]["uid"] in self.ready_at

    def available(self, pod: dict, min_ready: float) -> bool:
        at = self.ready_at.get(pod["metadata"]["uid"])
        return at is not None and time.monotonic() - at >= min_ready

    def _rs_status(self, rs: dict, pods: list[dict]) -> None:
        min_ready = rs["spec"].get("minReadySeconds", 0)
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods),
                  "readyReplicas": sum(self._ready(p) for p in pods),
                  "availableReplicas": sum(self.available(p, min_ready) for p in pods),
                  "observedGeneration": rs["metadata"].get("generation", 1)}
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        if rs.get("status") != status:
            self.store.update(RS, dict(clone(rs), status=status))

    # -- kubelet -----------------------------------------------------------------------
    def sync_pods(self) -> None:
        now = time.monotonic()
        for pod in self.store.peek(POD, where=lambda p: p["metadata"]["uid"] not in self.settled):
            uid = pod["metadata"]["uid"]
            born = self.born.setdefault(uid, now)
            status = self._pod_status(pod, now - born)
            ready = status["conditions"][-1]["status"] == "True"
            if ready:
                self.ready_at.setdefault(uid, now)
            if status != pod.get("status"):
                self.store.update(POD, dict(clone(pod), status=status))
            elif ready:
                self.settled.add(uid)   # Ready and written: a healthy pod's status is final

    def _pod_status(self, pod: dict, age: float) -> dict:
        tag, t = image_tag(pod["spec"]["containers"][0].get("image", "")), self.timing
        broken = "broken" in tag
        delay = t.slow_delay if "slow" in tag else t.ready_delay
        ready = not broken and age >= delay
        restarts = int(age // t.restart_every) if broken else 0
        old = pod.get("status") or {}
        stamp = lambda kind, value: next(  # noqa: E731 - keep transition times stable
            (c["lastTransitionTime"] for c in old.get("conditions") or []
             if c["type"] == kind and c["status"] == value), now_rfc3339())
        started = old.get("startTime") or now_rfc3339()
        containers = []
        for c in pod["spec"]["containers"]:
            if broken and restarts:
                state = {"waiting": {"reason": "CrashLoopBackOff",
                                     "message": f"back-off restarting failed container {c['name']}"}}
            else:
                state = {"running": {"startedAt": started}}
            containers.append({"name": c["name"], "image": c.get("image", ""),
                               "imageID": f"sandbox://{c.get('image', '')}", "ready": ready,
                               "started": not broken or not restarts, "restartCount": restarts,
                               "state": state})
        ready_text = "True" if ready else "False"
        conditions = [{"type": kind, "status": value, "lastTransitionTime": stamp(kind, value)}
                      for kind, value in (("PodScheduled", "True"), ("Initialized", "True"),
                                          ("ContainersReady", ready_text), ("Ready", ready_text))]
        return {"phase": "Running", "qosClass": "BestEffort", "startTime": started,
                "hostIP": "10.0.0.1", "podIP": old.get("podIP") or
                f"10.244.{random.randint(0, 255)}.{random.randint(1, 254)}",
                "conditions": conditions, "containerStatuses": containers}

    # -- garbage collector -------------------------------------------------------------
    def collect_garbage(self) -> None:
        for kind, owner_kinds in ((RS, (DEPLOY, ROLLOUT)), (POD, (RS,))):
            for namespace, name in self.store.orphans(kind, *owner_kinds):
                self.store.delete(kind, namespace, name)
