"""What the chat edge keeps in Redis beside the releases: the inbox of requests acknowledged to
the chat platform but not yet handled, and where each release's live message is. Not part of a
release's versioned state, so the release store knows nothing of it."""
from __future__ import annotations

import json
import time

import redis

from . import keys


class EdgeState:
    def __init__(self, conn: redis.Redis):
        self.r = conn

    # -- the live message's location ----------------------------------------------------
    def set_message(self, release_id: str, channel: str, ts: str) -> None:
        self.r.hset(keys.message(release_id), mapping={"channel": channel, "ts": ts})

    def message(self, release_id: str) -> tuple[str, str] | None:
        loc = self.r.hgetall(keys.message(release_id))
        return (loc["channel"], loc["ts"]) if loc.get("ts") else None

    # -- inbox: requests acknowledged but not yet fully handled ---------------------------
    def inbox_add(self, request: dict) -> str:
        return self.r.xadd(keys.inbox(), {"request": json.dumps(request), "at": f"{time.time():.3f}"})

    def inbox_done(self, entry_id: str) -> None:
        self.r.xdel(keys.inbox(), entry_id)

    def inbox_stale(self, older_than: float) -> list[tuple[str, dict]]:
        """Requests left behind by a worker that died (acknowledged, never finished)."""
        cutoff = time.time() - older_than
        return [(entry_id, json.loads(fields["request"]))
                for entry_id, fields in self.r.xrange(keys.inbox())
                if float(fields["at"]) < cutoff]
