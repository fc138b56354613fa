"""Pure helpers of the Deployment controller (k/k pkg/controller/deployment/util)."""
from __future__ import annotations

import copy
import hashlib
import json
import math

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
SKIPPED_ANNOTATIONS = {REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS,
                       "kubectl.kubernetes.io/last-applied-configuration"}
HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def scaled_value(value: object, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        exact = int(text[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def fenceposts(deploy: dict) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as ResolveFenceposts computes them."""
    spec = deploy["spec"]
    if spec.get("strategy", {}).get("type") != "RollingUpdate":
        return 0, 0
    ru = spec["strategy"].get("rollingUpdate") or {}
    replicas = spec.get("replicas", 1)
    surge = scaled_value(ru.get("maxSurge", "25%"), replicas, True)
    unavailable = scaled_value(ru.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, replicas)


def _normalize(value: object) -> object:
    """Semantic.DeepEqual treats nil and empty alike; drop empties before comparing."""
    if isinstance(value, dict):
        out = {k: _normalize(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ({}, [], None, "")}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    return value


def template_without_hash(template: dict) -> dict:
    t = copy.deepcopy(template)
    (t.get("metadata") or {}).get("labels", {}).pop(HASH_LABEL, None)
    return _normalize(t)  # type: ignore[return-value]


def equal_ignore_hash(a: dict, b: dict) -> bool:
    return template_without_hash(a) == template_without_hash(b)


def template_hash(template: dict, collisions: int = 0) -> str:
    data = json.dumps(template_without_hash(template), sort_keys=True) + str(collisions)
    number = int.from_bytes(hashlib.sha256(data.encode()).digest()[:8], "big")
    out = ""
    for _ in range(10):
        number, idx = divmod(number, len(HASH_ALPHABET))
        out += HASH_ALPHABET[idx]
    return out


def revision(obj: dict) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def owned_by(obj: dict, owner: dict) -> bool:
    return any(ref.get("controller") and ref.get("uid") == owner["metadata"]["uid"]
               for ref in obj["metadata"].get("ownerReferences") or [])


def controller_uid(obj: dict) -> str | None:
    return next((ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")),
                None)




def owner_ref(owner: dict) -> dict:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def condition(status: dict, kind: str) -> dict | None:
    return next((c for c in status.get("conditions") or [] if c["type"] == kind), None)


def set_condition(status: dict, kind: str, value: str, reason: str, message: str, now: str,
                  touch: bool = False) -> None:
    """SetDeploymentCondition: lastTransitionTime moves only when the status value changes;
    `touch` is the progress case, which bumps lastUpdateTime (the deadline's clock)."""
    conditions = status.setdefault("conditions", [])
    current = condition(status, kind)
    if current and current["status"] == value and current["reason"] == reason:
        if touch:
            current["message"] = message
            current["lastUpdateTime"] = now
        return
    new = {"type": kind, "status": value, "reason": reason, "message": message,
           "lastUpdateTime": now, "lastTransitionTime": now}
    if current and current["status"] == value:
        new["lastTransitionTime"] = current["lastTransitionTime"]
    if current:
        conditions[conditions.index(current)] = new
    else:
        conditions.append(new)


def complete(deploy: dict, status: dict) -> bool:
    want = deploy["spec"].get("replicas", 1)
    return (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= deploy["metadata"].get("generation", 1))


def progressing(old: dict, new: dict) -> bool:
    old_olds = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_olds = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_olds < old_olds
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def settled(d: dict) -> bool:
    """Complete, not paused, Progressing "NewReplicaSetAvailable": no progress deadline runs, so
    nothing is due until the Deployment or one of its ReplicaSets changes."""
    status = d.get("status") or {}
    progressing = next((c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {})
    return complete(d, status) and not d["spec"].get("paused") and progressing.get("reason") == "NewReplicaSetAvailable"
