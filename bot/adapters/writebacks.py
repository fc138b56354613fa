"""What writing each successful release (wave) to Git did, in Redis: the commit or pull request,
or why not. One JSON value per RELEASE#WAVE, written before the thread is told, kept KEEP
seconds (the release's history outlives it; the commit itself is in Git)."""
from __future__ import annotations

import json

from . import keys
from .replicas import Replicas

KEEP = 90 * 86400


class WriteBacks:
    def __init__(self, conn, replicas: Replicas | None = None):
        self.r = conn
        self.replicas = replicas or Replicas(conn)

    def get(self, member: str) -> dict | None:
        raw = self.r.get(keys.writeback(member))
        return json.loads(raw) if raw else None

    def put(self, member: str, record: dict) -> None:
        self.r.set(keys.writeback(member), json.dumps(record), ex=KEEP)
        self.replicas.confirm(f"the write-back of {member}")

    def of_release(self, release_id: str, waves: int) -> list[dict]:
        found = self.r.mget([keys.writeback(f"{release_id}#{i}") for i in range(max(waves, 1))])
        return [json.loads(raw) for raw in found if raw]
