"""Release state in Redis: compare-and-set on the state version, one active release per app,
an append-only audit stream per release, history, and per-app locks.

Keys: see keys.py (release, active_of, active_set, history, audit, app_lock, stage_clock).
"""
from __future__ import annotations

import json
import logging
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.domain.model import Phase, Release

from . import keys, redisurl
from .auditlog import AuditLog
from .edgestate import refusal_of
from .locks import LockBusy, LockKeeper
from .parsed import ParsedReleases
from .replicas import Replicas

__all__ = ["AppBusy", "LockBusy", "StaleState", "Store"]

HISTORY_KEEP = 100
TRAIL_RETRIES = 20         # a save whose only conflict is an audit note recorded meanwhile tries again
log = logging.getLogger("graybot.store")


class StaleState(Exception):
    """Someone else changed the release first; `current` says who and when."""

    def __init__(self, current: Release | None):
        super().__init__("stale state")
        self.current = current


class AppBusy(Exception):
    def __init__(self, current: Release):
        super().__init__(f"{current.app} already has an active release: {current.id}")
        self.current = current


class Store:
    def __init__(self, conn: redis.Redis, lock_ttl: float = 6.0, audit_outbox: bool = False):
        self.r = conn
        self.trail = AuditLog(conn, outbox=audit_outbox)
        self.locks = LockKeeper(conn, ttl=lock_ttl)
        self.replicas = Replicas(conn)          # every saved transition waits for a replica, if any
        self.parsed = ParsedReleases()

    @classmethod
    def from_url(cls, url: str, timeout: float = 0.8) -> "Store":
        """Every command answers within `timeout` seconds or fails, with one immediate retry (a
        dropped connection): a hung Redis must never keep a person from an answer within
        Slack's 3 s (redis-py's default is three retries with backoff)."""
        return cls(redisurl.connect(url, decode_responses=True, health_check_interval=30,
                                    socket_timeout=timeout, socket_connect_timeout=timeout,
                                    retry=Retry(NoBackoff(), 1)))

    # -- reads --------------------------------------------------------------------------
    def get(self, release_id: str) -> Release | None:
        raw = self.r.get(keys.release(release_id))
        return self.parsed.parse(release_id, raw) if raw else None

    def active_for(self, app: str) -> Release | None:
        release_id = self.r.get(keys.active_of(app))
        return self.get(release_id) if release_id else None

    def count_active(self) -> int:
        return int(self.r.scard(keys.active_set()))

    def active(self) -> list[Release]:
        ids = sorted(self.r.smembers(keys.active_set()))
        return self._many(ids)

    def _many(self, ids: list[str]) -> list[Release]:
        """The releases of `ids` that exist, in order: one MGET per 200, not a round trip each."""
        found: list[Release] = []
        for start in range(0, len(ids), 200):
            chunk = ids[start:start + 200]
            found += [self.parsed.parse(i, raw) for i, raw in zip(chunk, self.r.mget([keys.release(i) for i in chunk]))
                      if raw]
        return found

    def history(self, app: str, limit: int = 10) -> list[Release]:
        return self._many(self.r.lrange(keys.history(app), 0, limit - 1))

    def audit(self, release_id: str) -> list[dict]:
        return self.trail.entries(release_id)

    # -- writes -------------------------------------------------------------------------
    def first_change_after(self, release_id: str, version: int) -> dict | None:
        """The audit entry of the change that moved the release past `version`."""
        for entry in self.audit(release_id):
            if int(entry.get("version", -1)) == version + 1:
                return entry
        return None

    def create(self, release: Release, actor: str, detail: str = "") -> Release:
        """Claim the app's single active slot and store the release, atomically."""
        key, head_key = keys.active_of(release.app), self.trail.head_key(release.id)
        with self.r.pipeline() as pipe:
            try:
                pipe.watch(key, head_key)
                holder = pipe.get(key)
                if holder:
                    current = self.get(holder)
                    if current is not None and current.phase.live:
                        raise AppBusy(current)
                head = pipe.hgetall(head_key)
                pipe.multi()
                pipe.set(key, release.id)
                pipe.set(keys.release(release.id), release.to_json())
                pipe.sadd(keys.active_set(), release.id)
                self._index(pipe, release)
                self.trail.add(pipe, release.id, self._entry(release, actor, "create", "", release.phase.value,
                                                            detail), head)
                self.trail.index(pipe, release.id, time.time())
                pipe.execute()
            except redis.WatchError:
                raise AppBusy(self.active_for(release.app) or release) from None
        self.replicas.confirm(f"the start of {release.id}")
        return release

    def save(self, new: Release, expected_version: int, actor: str, action: str,
             detail: str = "") -> Release:
        """Write `new` only if the stored version is still `expected_version` (else StaleState)."""
        key, head_key = keys.release(new.id), self.trail.head_key(new.id)
        for _ in range(TRAIL_RETRIES):
            with self.r.pipeline() as pipe:
                try:
                    pipe.watch(key, head_key)
                    raw = pipe.get(key)
                    current = self.parsed.parse(new.id, raw) if raw else None
                    if current is None or current.version != expected_version:
                        raise StaleState(current)
                    head = pipe.hgetall(head_key)
                    pipe.multi()
                    pipe.set(key, new.to_json())
                    self.trail.add(pipe, new.id, self._entry(new, actor, action, current.phase.value,
                                                            new.phase.value, detail, new.version), head)
                    self._index(pipe, new)
                    pipe.zadd(keys.audit_index(), {new.id: time.time()}, nx=True)    # one an older graybot began
                    if not new.phase.live:
                        self._retire(pipe, new)
                    pipe.execute()
                    break
                except redis.WatchError:
                    current = self.get(new.id)
                    if current is None or current.version != expected_version:
                        raise StaleState(current) from None
                    # only the trail moved (a note recorded meanwhile): the change still holds
        else:
            raise StaleState(self.get(new.id))
        self.replicas.confirm(f"the {action} of {new.id}")
        return new

    def _entry(self, release: Release, actor: str, action: str, before: str, after: str, detail: str,
               version: int | None = None) -> dict:
        return self.trail.fields(release.id, release.app, release.cluster, actor, action, before, after, detail,
                                 version)

    @staticmethod
    def _index(pipe, release: Release) -> None:
        """What the leader's loops read instead of every release: which are moving (the driver),
        and which wait with a timer, at which version (the timers). In the save's transaction."""
        if release.phase in (Phase.PROGRESSING, Phase.ROLLING_BACK):
            pipe.sadd(keys.moving_set(), release.id)
        else:
            pipe.srem(keys.moving_set(), release.id)
        if release.phase == Phase.WAITING and (release.runtime.next_at or release.runtime.approval_due):
            pipe.hset(keys.timed_versions(), release.id, release.version)
        else:
            pipe.hdel(keys.timed_versions(), release.id)
        if release.phase == Phase.PAUSED and release.runtime.cluster_down:
            pipe.sadd(keys.outage_held(), release.id)
        else:
            pipe.srem(keys.outage_held(), release.id)

    def moving(self) -> list[str]:
        return sorted(self.r.smembers(keys.moving_set()))

    def outage_held(self) -> list[Release]:
        """The releases a cluster's outage paused (the probes look at these, not every release)."""
        return self._many(sorted(self.r.smembers(keys.outage_held())))

    def timed(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.r.hgetall(keys.timed_versions()).items()}

    def reindex(self) -> list[Release]:
        """Every active release, with the index entries it lacks added (records saved by an older
        graybot, or an index lost with Redis): for the leader's full passes. Only added, never
        removed here: a save racing with this pass could otherwise lose its entry, while an entry
        too many costs one look (the readers re-read the release) until the release's next save."""
        active = self.active()
        with self.r.pipeline(transaction=False) as pipe:
            for release in active:
                if release.phase in (Phase.PROGRESSING, Phase.ROLLING_BACK):
                    pipe.sadd(keys.moving_set(), release.id)
                if release.phase == Phase.WAITING and (release.runtime.next_at or release.runtime.approval_due):
                    pipe.hsetnx(keys.timed_versions(), release.id, release.version)
                if release.phase == Phase.PAUSED and release.runtime.cluster_down:
                    pipe.sadd(keys.outage_held(), release.id)
            pipe.execute()
        return active

    def _retire(self, pipe, release: Release) -> None:
        pipe.srem(keys.active_set(), release.id)
        pipe.srem(keys.moving_set(), release.id)
        pipe.hdel(keys.timed_versions(), release.id)
        pipe.srem(keys.outage_held(), release.id)
        pipe.delete(keys.active_of(release.app))
        pipe.lpush(keys.history(release.app), release.id)
        pipe.ltrim(keys.history(release.app), 0, HISTORY_KEEP - 1)

    def record(self, release_id: str, actor: str, action: str, detail: str = "") -> None:
        """An audit entry that changes no state (a refused click, a note)."""
        release = self.get(release_id)
        app, cluster = (release.app, release.cluster) if release else ("", "")
        fields = self.trail.fields(release_id, app, cluster, actor, action, "", "", detail)
        head_key = self.trail.head_key(release_id)
        for _ in range(TRAIL_RETRIES):
            with self.r.pipeline() as pipe:
                try:
                    pipe.watch(head_key)
                    head = pipe.hgetall(head_key)
                    pipe.multi()
                    self.trail.add(pipe, release_id, fields, head)
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue
        log.warning("audit entry %s of %s not recorded: the trail kept moving", action, release_id)

    # -- stage clocks (when a stage started / became ready), for deadlines and bake time ----
    def stage_clock(self, release_id: str, stage: int | str, kind: str, now: float) -> float:
        """The first time `kind` was recorded for this stage (recording `now` if it is the first)."""
        key, field = keys.stage_clock(release_id), f"{stage}:{kind}"
        with self.r.pipeline(transaction=False) as pipe:      # one round trip
            pipe.hsetnx(key, field, f"{now:.3f}")
            pipe.hget(key, field)
            return float(pipe.execute()[1])

    def stage_mark(self, release_id: str, stage: int | str, kind: str) -> float | None:
        """When `kind` was recorded for this stage, or None (nothing is recorded by asking)."""
        value = self.r.hget(keys.stage_clock(release_id), f"{stage}:{kind}")
        return float(value) if value is not None else None

    def clear_stage_clock(self, release_id: str, stage: int | str, kind: str) -> None:
        self.r.hdel(keys.stage_clock(release_id), f"{stage}:{kind}")

    # -- freezes set by command (scope: an app, or "*" for every app) --------------------
    def set_freeze(self, scope: str, until: float, reason: str, by: str) -> None:
        self.r.hset(keys.freezes(), scope, json.dumps({"until": until, "reason": reason, "by": by,
                                                       "at": time.time()}))

    def clear_freeze(self, scope: str) -> bool:
        return bool(self.r.hdel(keys.freezes(), scope))

    def freezes(self, now: float | None = None) -> dict[str, dict]:
        """The freezes still running at `now` (ended ones are dropped as they are read)."""
        now = time.time() if now is None else now
        found = {scope: json.loads(raw) for scope, raw in self.r.hgetall(keys.freezes()).items()}
        ended = [scope for scope, f in found.items() if f["until"] <= now]
        if ended:
            self.r.hdel(keys.freezes(), *ended)
        return {scope: f for scope, f in found.items() if f["until"] > now}

    # -- GitOps reconciliation held until Git holds a succeeded release --------------------
    def gitops_pending_add(self, member: str) -> None:
        self.r.sadd(keys.gitops_pending(), member)
        self.replicas.confirm(f"the held reconciliation of {member}")

    def gitops_pending(self) -> list[str]:
        return sorted(self.r.smembers(keys.gitops_pending()))

    def gitops_pending_remove(self, member: str) -> None:
        self.r.srem(keys.gitops_pending(), member)

    def set_muted(self, user: str, muted: bool) -> None:
        """`/release mute`: no direct messages asking this person for approvals."""
        (self.r.sadd if muted else self.r.srem)(keys.muted(), user)

    def muted(self) -> set[str]:
        return set(self.r.smembers(keys.muted()))

    # -- locks (locks.py: short TTL, renewed while the holder lives) ---------------------
    def app_lock(self, app: str, wait: float = 10.0):
        return self.locks.hold(app, wait=wait)

    def ping(self) -> bool:
        return bool(self.r.ping())

    def write_problem(self) -> str | None:
        """Why Redis answers but refuses writes (a read-only replica after a failover, a full
        Redis under noeviction), or None when a write goes through."""
        try:
            self.r.set(keys.health_probe(), "1", px=5000)
        except redis.exceptions.ResponseError as exc:
            return refusal_of(exc) or str(exc)[:80]
        return None

    def persistence_warning(self) -> str | None:
        """Why a Redis restart would lose every release (no AOF and no snapshots), or None;
        None too when the server does not let us ask (managed Redis often hides CONFIG)."""
        try:
            aof = self.r.config_get("appendonly").get("appendonly")
            save = self.r.config_get("save").get("save")
        except redis.exceptions.RedisError:
            return None
        if aof == "yes" or save:
            return None
        return ("Redis runs without persistence (appendonly no, no save points): a Redis restart "
                "loses every release and leaves the cluster half-applied; enable appendonly yes")

