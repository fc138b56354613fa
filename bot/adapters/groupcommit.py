"""Group commit of the ack path's writes: the requests being acked at the same moment (fifty
people clicking one button) write their inbox entries in one Redis round trip between them, not
one each. The first caller writes at once (a lone request waits for nothing); callers that come
while a write is in flight queue, and the first of them writes everything queued as soon as that
write is back. Each caller still returns only once its own entry is written (and, where Redis has
replicas, on one: `WAIT` on the same connection, in the same round trip), so an ack still means a
kept request.

Why: each round trip costs the edge a connection taken from the pool (with a readiness poll), a
send, a receive and two GIL hand-overs, and Redis a read and a write of its own; under a burst
those were most of what the edge did beside Bolt's own work."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

import redis

from .replicas import Replicas

PATIENCE = 1.5      # seconds a queued caller waits for its turn: never reached while Redis answers
                    # (each write is bounded by the client's socket timeouts); a safety net only


@dataclass
class _Call:
    keys: list[str]
    args: list[Any]
    turn: threading.Event = field(default_factory=threading.Event)   # written, or its turn to write
    leads: bool = False
    done: bool = False
    result: Any = None

    def outcome(self) -> Any:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class GroupCommit:
    """One Lua script's calls (`call`), written together with the calls other threads make meanwhile."""

    def __init__(self, conn: redis.Redis, script: str, replicas: Replicas, patience: float = PATIENCE):
        self.conn, self.script, self.replicas, self.patience = conn, script, replicas, patience
        self.sha = hashlib.sha1(script.encode()).hexdigest()
        self._lock = threading.Lock()
        self._queued: list[_Call] = []
        self._writing = False

    def call(self, keys: list[str], args: list[Any]) -> Any:
        """The script's answer for `keys` and `args`, once written; raises the RedisError its write met."""
        mine = _Call(keys, args)
        with self._lock:
            self._queued.append(mine)
            leads, self._writing = not self._writing, True
        if leads or self._wait_for_turn(mine):
            self._write_queued()
        return mine.outcome()

    def _wait_for_turn(self, mine: _Call) -> bool:
        """True when this caller is to write the queue (the write before it is back)."""
        if not mine.turn.wait(self.patience):
            with self._lock:
                if mine in self._queued and not mine.leads:     # never sent: nothing was written
                    self._queued.remove(mine)
                    mine.result = redis.exceptions.TimeoutError("no turn to write the inbox entry")
                    return False
            mine.turn.wait(self.patience)       # in a write now, which its socket timeout bounds
            if not mine.done:
                mine.result = redis.exceptions.TimeoutError("the inbox entry's write did not come back")
        return mine.leads and not mine.done

    def _write_queued(self) -> None:
        with self._lock:
            batch, self._queued = self._queued, []
        try:
            results = self._send(batch)
        except Exception as exc:    # each caller meets it; the queue must never be left without a writer
            results = [exc] * len(batch)
        with self._lock:
            if self._queued:                    # came meanwhile: the first of them writes next
                self._queued[0].leads = True
                self._queued[0].turn.set()
            else:
                self._writing = False
        for call, result in zip(batch, results):
            call.result, call.done = result, True
            call.turn.set()

    def _send(self, batch: list[_Call]) -> list[Any]:
        """One round trip: each call's script run (loaded first if Redis lost it), then, where
        Redis has replicas, WAIT for one of them on this same connection."""
        results = self._pipelined(batch)
        if any(isinstance(r, redis.exceptions.NoScriptError) for r in results):    # nothing of those ran
            self.conn.script_load(self.script)
            retried = iter(self._pipelined([c for c, r in zip(batch, results)
                                            if isinstance(r, redis.exceptions.NoScriptError)]))
            results = [next(retried) if isinstance(r, redis.exceptions.NoScriptError) else r for r in results]
        return results

    def _pipelined(self, batch: list[_Call]) -> list[Any]:
        with self.conn.pipeline(transaction=False) as pipe:
            for call in batch:
                pipe.evalsha(self.sha, len(call.keys), *call.keys, *call.args)
            waits = self.replicas.wait_in(pipe)
            results = pipe.execute(raise_on_error=False)
        if waits:
            self.replicas.acknowledged(results.pop(), f"{len(batch)} inbox entries")
        return results
