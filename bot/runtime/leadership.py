"""The leader lock that makes one bot process (of however many share the Redis) run the timers,
the driver and the health watch: a redis-py Lock with renewal; if the holder dies, the lock
expires after `ttl` seconds and another process takes over."""
from __future__ import annotations

import logging
import os
import socket
from typing import Callable

import redis

from bot.adapters import keys

from .lifecycle import Loop

log = logging.getLogger("graybot.leadership")


class Leadership(Loop):
    name = "leader-election"

    def __init__(self, conn: redis.Redis, on_elected: Callable[[], None], on_lost: Callable[[], None],
                 ttl: float = 15.0, every: Callable[[], None] = lambda: None):
        super().__init__(period=min(1.0, ttl / 3))     # renew, and re-derive jobs, every second
        self.conn, self.ttl = conn, ttl
        self.on_elected, self.on_lost, self.every = on_elected, on_lost, every
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.lock = conn.lock(keys.leader(), timeout=ttl, thread_local=False)
        self._leading = False

    @property
    def leading(self) -> bool:
        return self._leading

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        if self._leading:
            self._step_down()
            try:
                self.lock.release()
            except redis.exceptions.RedisError:     # gone already, or Redis is down: it expires
                pass

    def _step_down(self) -> None:
        self._leading = False
        try:
            self.on_lost()
        except Exception:
            log.exception("stepping down failed")

    def _retaken(self) -> bool:
        """The lock's key was gone, not taken (a failover promoted a replica that lacked it): take
        it again at once, keeping the timers, driver and watches running instead of stopping them
        all and starting them again. Anyone else holding it means stepping down, as before."""
        try:
            if not self.lock.acquire(blocking=False):
                return False
            self._mark_owner()
        except redis.exceptions.RedisError:
            return False
        log.warning("%s found the leader lock gone (a failover?) and took it again", self.identity)
        return True

    def _mark_owner(self) -> None:
        self.conn.set(keys.leader_owner(), self.identity, px=int(self.ttl * 1000))

    def step(self) -> float:
        try:
            # every process, leading or not: a heartbeat, so others can tell its requests are alive
            self.conn.set(keys.alive(self.identity), "1", px=int(self.ttl * 1000))
            if not self._leading:
                if self.lock.acquire(blocking=False):
                    self._mark_owner()
                    log.info("%s leads: timers, driver and health watch run here", self.identity)
                    self._leading = True
                    self.on_elected()
            else:
                self.lock.reacquire()
                self._mark_owner()
                self.every()
        except redis.exceptions.LockError:
            if self._retaken():
                return self.period
            log.warning("%s lost the leader lock", self.identity)
            self._step_down()
        except redis.exceptions.RedisError as exc:
            log.warning("leader election: %s", exc)
        return self.period
