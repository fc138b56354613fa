"""Per-app locks that die with their holder: a short TTL (a few seconds), renewed by one keeper
thread per process while the holder lives. A SIGKILLed process stops renewing, so its locks
expire within the TTL instead of stranding the app for a minute."""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterator

import redis

from . import keys

log = logging.getLogger("graybot.locks")


class LockBusy(Exception):
    """Another worker holds the app's lock right now."""


class LockKeeper:
    def __init__(self, conn: redis.Redis, ttl: float = 6.0):
        self.conn, self.ttl = conn, ttl
        self._held: dict[int, redis.lock.Lock] = {}
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _ensure_thread(self) -> None:
        with self._guard:
            if self._stopping.is_set():
                return
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._renew, name="lock-keeper", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop renewing (locks still held then expire within their TTL) and join the keeper."""
        self._stopping.set()
        self._wake.set()
        with self._guard:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _renew(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.ttl / 3)
            self._wake.clear()
            with self._guard:
                held = list(self._held.values())
            for lock in held:
                try:
                    lock.extend(self.ttl, replace_ttl=True)
                except (redis.exceptions.LockError, redis.exceptions.RedisError) as exc:
                    with self._guard:
                        still_held = id(lock) in self._held
                    if still_held:     # not a lock its holder released since the list above was taken
                        log.warning("could not renew %s: %s", lock.name, exc)

    @contextmanager
    def hold(self, app: str, wait: float = 10.0) -> Iterator[None]:
        """Serialises cluster work on one app across workers and bot replicas."""
        lock = self.conn.lock(keys.app_lock(app), timeout=self.ttl, blocking_timeout=wait,
                              thread_local=False)
        if not lock.acquire():
            raise LockBusy(app)
        with self._guard:
            self._held[id(lock)] = lock
        self._ensure_thread()
        try:
            yield
        finally:
            with self._guard:
                self._held.pop(id(lock), None)
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass  # expired while held: the next holder's CAS still protects the state
