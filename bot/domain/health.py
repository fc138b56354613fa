"""The health gate's rules on one pod (pure): which pods a release brings in, and when one fails."""
from __future__ import annotations

from datetime import datetime

from .apps import AppSpec
from .gitops import field_owner
from .model import Release


def pod_failure(pod: dict, max_restarts: int) -> str | None:
    """Why this pod fails the health gate, with the evidence, or None."""
    name = pod["metadata"]["name"]
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        restarts = cs.get("restartCount", 0)
        reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason", "")
        if reason == "CrashLoopBackOff" or restarts > max_restarts:
            why = f" ({reason})" if reason else ""
            return (f"pod {name}: container {cs['name']} restarted {restarts} time(s){why}; "
                    f"max_restarts is {max_restarts}")
    return None


def pod_of_release(release: Release, app: AppSpec, pod: dict) -> bool:
    """Is this one of the pods the release brings in (the new version's)?"""
    labels = pod["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in app.labels.items()):
        return False
    if release.new_name != release.stable_name:
        return labels.get("version") == release.to_version
    return any(c.get("image") == release.image for c in pod["spec"].get("containers") or [])


def drift(release: Release, kind: str, deploy: dict) -> str | None:
    """What a person changed by hand on one of a waiting release's Deployments, or None."""
    name = deploy["metadata"]["name"]
    if name not in (release.new_name, release.stable_name):
        return None
    if kind == "DELETED":
        return f"{name} was deleted outside graybot while the release waited"
    expected = release.current.new_replicas if name == release.new_name else release.current.old_replicas
    actual = (deploy.get("spec") or {}).get("replicas", 0)
    if actual != expected:
        who = field_owner(deploy, ("spec", "replicas"))
        by = f" by {who}" if who and who != "graybot" else ""
        return f"{name} was scaled to {actual}{by} outside graybot (stage {release.current.name} wants {expected})"
    return None


def foreign_write(obj: dict, since: float, part: str = "f:spec") -> str | None:
    """Who, other than graybot, changed the object's `part` (its spec; a canary Ingress's
    metadata) at or after `since` (epoch seconds), per managedFields (status written by a
    controller does not count), or None."""
    newest: tuple[float, str] | None = None
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == "graybot" or entry.get("subresource") == "status" \
                or part not in (entry.get("fieldsV1") or {}):
            continue
        try:
            at = datetime.fromisoformat(str(entry.get("time", "")).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
        # managedFields times have whole seconds: a write in the same second before `since` is
        # not counted (a false hold would be worse than one more second of blindness)
        if at >= since and (newest is None or at > newest[0]):
            newest = (at, str(entry.get("manager")))
    return newest[1] if newest else None
