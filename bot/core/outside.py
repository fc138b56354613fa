"""Changes made elsewhere are shown, not fought: when someone promotes or aborts a controller's
object outside graybot (`kubectl argo rollouts promote`, an Argo CD resource action) while its
release waits at a pause, the release follows (the next stage, or a rollback) and says who did
it, named from the object's managedFields."""
from __future__ import annotations

from bot.domain.model import Event, Phase, Release
from bot.domain.names import CONTROLLER_STRATEGY, GRAYBOT
from bot.workloads.base import Controller

from .refusals import Refused

UNKNOWN = "someone outside graybot"


def last_writer(obj: dict, part: str) -> str:
    """The manager that last wrote `part` ("status" or "spec") of the object, other than graybot."""
    entries = [e for e in (obj.get("metadata") or {}).get("managedFields") or []
               if e.get("manager") not in (GRAYBOT, None)
               and (e.get("subresource") == "status") == (part == "status")
               and f"f:{part}" in (e.get("fieldsV1") or {})]
    return max(entries, key=lambda e: e.get("time", ""))["manager"] if entries else UNKNOWN


def moved_outside(workload: Controller, release: Release) -> tuple[Event, str, str] | None:
    """(what the release does, who did it, what to say) when its controller left the pause it waits at."""
    if release.phase != Phase.WAITING or release.strategy != CONTROLLER_STRATEGY:
        return None
    pauses = release.origin.get("pauses") or []
    if release.stage >= len(pauses):
        return None
    obj = workload.get(release.namespace, release.new_name)
    if obj is None:
        return None
    status = obj.get("status") or {}
    if status.get("abort"):
        who = last_writer(obj, "status")
        return Event.ROLLBACK, who, f"aborted outside graybot by {who}"
    promoted = int(status.get("currentStepIndex", 0)) > pauses[release.stage] or \
        status.get("stableRS") == status.get("currentPodHash")
    if promoted and workload.paused_at(obj) != pauses[release.stage]:
        who = last_writer(obj, "status")
        return Event.APPROVE, who, f"promoted outside graybot by {who}"
    return None


def follow(engine, release_id: str) -> Release | None:
    release = engine.store.get(release_id)
    if release is None:
        return None
    workload = engine.workload_for(release)
    moved = moved_outside(workload, release) if workload.controller_owns_steps else None
    if moved is None:
        return release
    event, who, words = moved
    try:
        return engine.apply(release_id, event, who, release.version, reason=words)
    except Refused:
        return engine.store.get(release_id)           # it moved on meanwhile
