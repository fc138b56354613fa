"""Writes that must survive a failover wait until a replica has them (`WAIT 1`), where Redis has
replicas: a saved transition before it is announced or applied, an inbox entry before its ack.

What can still be lost, and is logged: a write no replica acknowledged within WAIT_MS (the
replica down or lagging) whose master then dies before it replicates; and, on a Redis without
replicas, whatever its persistence had not written. Writes that are not waited for are rebuilt
or harmless when lost: the timers' APScheduler jobs (re-armed from the release records), the
live message's location (found again from the thread), leader and app locks (re-taken)."""
from __future__ import annotations

import logging
import time

import redis

from . import keys

WAIT_MS = 250            # how long a write waits for a replica before it goes on without one
RECHECK = 10.0           # seconds between asking how many replicas there are
log = logging.getLogger("graybot.store")


class Replicas:
    def __init__(self, conn: redis.Redis, wait_ms: int = WAIT_MS):
        self.r, self.wait_ms = conn, wait_ms
        self._seen: tuple[float, int] = (-1e9, 0)        # (when asked, how many replicas)

    def count(self) -> int:
        now = time.monotonic()
        if now - self._seen[0] > RECHECK:
            try:
                self._seen = (now, int(self.r.info("replication").get("connected_slaves", 0)))
            except redis.exceptions.RedisError:
                return self._seen[1]
        return self._seen[1]

    def confirm(self, what: str) -> bool:
        """True when a replica has every write made so far (or there is no replica to wait for)."""
        if not self.count():
            return True
        try:
            # WAIT counts the writes of its own connection only, and the write being confirmed may
            # have gone over another of the pool's (threads share it): a write of this connection
            # first, after that one in the replication stream, makes WAIT cover it. One round trip.
            with self.r.pipeline(transaction=False) as pipe:
                pipe.incr(keys.replication_mark())
                self.wait_in(pipe)
                reply = pipe.execute()[1]
        except redis.exceptions.RedisError as exc:
            reply = exc
        return self.acknowledged(reply, what)

    def wait_in(self, pipe) -> bool:
        """Queue `WAIT 1` on `pipe`, after the writes it must cover (the same connection), where
        there are replicas; True when it did: its reply is then the pipeline's last."""
        if not self.count():
            return False
        pipe.execute_command("WAIT", 1, self.wait_ms)
        return True

    def acknowledged(self, reply, what: str) -> bool:
        """What a WAIT's reply (or the error it met) says, logged when no replica has `what`."""
        if isinstance(reply, Exception):
            log.warning("WAIT after %s failed: %s", what, reply)
            return False
        if not int(reply):
            log.warning("no replica acknowledged %s within %d ms", what, self.wait_ms)
        return bool(int(reply))
