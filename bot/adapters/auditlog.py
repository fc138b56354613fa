"""The audit trail in Redis: one hash-chained stream per release (bot/domain/audit.py) with its
head, an index of releases by start time (listing, retention) and, when a webhook is configured,
an outbox stream the leader delivers from. Entries are added inside the store's transactions, so
a change and its entry are saved together or not at all."""
from __future__ import annotations

import json
import time

import redis

from bot.domain.audit import chain_problems, seal

from . import keys

OUTBOX_KEEP = 100_000      # entries kept for a webhook that does not answer (then the oldest go)


class AuditLog:
    def __init__(self, conn: redis.Redis, outbox: bool = False):
        self.r, self.outbox = conn, outbox

    @staticmethod
    def fields(release_id: str, app: str, cluster: str, actor: str, action: str, before: str, after: str,
               detail: str, version: int | None = None) -> dict:
        found = {"release": release_id, "app": app, "cluster": cluster, "actor": actor, "action": action,
                 "before": before, "after": after, "detail": detail, "at": f"{time.time():.3f}"}
        if version is not None:
            found["version"] = str(version)
        return found

    # -- inside a transaction ---------------------------------------------------------------
    @staticmethod
    def head_key(release_id: str) -> str:
        return keys.audit_head(release_id)

    def add(self, pipe, release_id: str, fields: dict, head: dict) -> None:
        """Queue the entry after `head` (read under WATCH of head_key) on `pipe` (in MULTI)."""
        sealed = seal(fields, head.get("hash", ""))
        pipe.xadd(keys.audit(release_id), sealed)
        pipe.hset(keys.audit_head(release_id), mapping={"hash": sealed["hash"],
                                                         "count": int(head.get("count", 0)) + 1})
        if self.outbox:
            pipe.xadd(keys.audit_outbox(), {"entry": json.dumps(sealed)}, maxlen=OUTBOX_KEEP, approximate=True)

    @staticmethod
    def index(pipe, release_id: str, started: float) -> None:
        pipe.zadd(keys.audit_index(), {release_id: started})

    # -- reads ------------------------------------------------------------------------------
    def entries(self, release_id: str) -> list[dict]:
        return [dict(fields, id=entry_id) for entry_id, fields in self.r.xrange(keys.audit(release_id))]

    def problems(self, release_id: str) -> list[str]:
        return chain_problems(self.entries(release_id), self.r.hgetall(keys.audit_head(release_id)))

    def releases(self, since: float = 0.0) -> list[str]:
        """Release ids with a trail, oldest first: started since `since`, or changed since."""
        ranked = self.r.zrange(keys.audit_index(), 0, -1, withscores=True)
        return [i for i, started in ranked if started >= since or self._changed_since(i, since)]

    def _changed_since(self, release_id: str, since: float) -> bool:
        last = self.r.xrevrange(keys.audit(release_id), count=1)
        return bool(last) and float(last[0][1].get("at", 0)) >= since

    # -- the webhook's outbox ---------------------------------------------------------------
    def undelivered(self, count: int = 50) -> list[tuple[str, dict]]:
        return [(i, json.loads(f["entry"])) for i, f in self.r.xrange(keys.audit_outbox(), count=count)]

    def delivered(self, outbox_id: str) -> None:
        self.r.xdel(keys.audit_outbox(), outbox_id)

    # -- retention -------------------------------------------------------------------------
    def prune(self, started_before: float) -> list[str]:
        """Forget the trails (and records) of finished releases started before the cutoff."""
        old = self.r.zrangebyscore(keys.audit_index(), "-inf", started_before)
        active = self.r.smembers(keys.active_set())
        gone = [i for i in old if i not in active]
        if gone:
            with self.r.pipeline() as pipe:
                for release_id in gone:
                    pipe.delete(keys.audit(release_id), keys.audit_head(release_id), keys.release(release_id),
                                keys.stage_clock(release_id))
                    pipe.zrem(keys.audit_index(), release_id)
                pipe.execute()
        return gone
