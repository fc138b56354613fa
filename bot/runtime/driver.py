"""Moves releases between saved states: ticks every release that is applying a stage or
rolling back, at once when woken (a command, a cluster event) and on a short period otherwise.

Releases are ticked concurrently on a bounded pool, one tick per release at a time: a release
whose cluster calls hang holds one worker for at most its call timeout and never the others."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bot.core.engine import Engine
from bot.domain.model import Phase

from .lifecycle import Loop

log = logging.getLogger("graybot.driver")
MOVING = (Phase.PROGRESSING, Phase.ROLLING_BACK)
FULL_PASS = 60.0        # seconds between passes over every active release (the index's safety net)
TROUBLE_PAUSE = 2.0     # seconds between ticks of a release whose cluster does not answer: leaves
                        # room for a person's Pause or Rollback to take the app lock


class Driver(Loop):
    name = "release-driver"

    def __init__(self, engine: Engine, period: float = 1.0, workers: int = 16):
        super().__init__(period)
        self.engine = engine
        self.pool = ThreadPoolExecutor(max(1, workers), "release-tick")
        self._busy: set[str] = set()
        self._not_before: dict[str, float] = {}
        self._full_at = -FULL_PASS              # the first pass reads every release
        self._guard = threading.Lock()

    def _tick(self, release_id: str) -> None:
        try:
            self.engine.tick(release_id)
            if self.engine.in_trouble(release_id):
                self._not_before[release_id] = time.monotonic() + TROUBLE_PAUSE
            else:
                self._not_before.pop(release_id, None)
        except Exception:   # one broken release must not stall the others
            log.exception("tick failed for %s", release_id)
        finally:
            with self._guard:
                self._busy.discard(release_id)

    def pass_once(self) -> int:
        """Tick every moving release: read from the store's index of moving releases (one
        command, however many releases wait), with a full pass over all of them now and then."""
        now = time.monotonic()
        if now - self._full_at > FULL_PASS:
            self._full_at = now
            moving = [r.id for r in self.engine.store.reindex() if r.phase in MOVING]
        else:
            moving = self.engine.store.moving()
        for release_id in moving:
            if self._not_before.get(release_id, 0) > now:
                continue
            with self._guard:
                if release_id in self._busy:
                    continue          # still on its last tick (perhaps a hung call)
                self._busy.add(release_id)
            self.pool.submit(self._tick, release_id)
        return len(moving)

    def step(self) -> float:
        # poll briskly while something is moving; otherwise sleep until woken
        return self.period / 5 if self.pass_once() else self.period

    def stop(self, timeout: float = 5.0) -> None:
        """Stop passing; drop queued ticks and wait (bounded) for the running ones."""
        super().stop(timeout)
        self.pool.shutdown(wait=False, cancel_futures=True)
        join_pool(self.pool, timeout)


def join_pool(pool: ThreadPoolExecutor, timeout: float) -> None:
    """ThreadPoolExecutor.shutdown(wait=True) has no deadline: a hung call would hold the stop."""
    deadline = time.monotonic() + timeout
    for thread in list(getattr(pool, "_threads", ())):
        thread.join(max(0.0, deadline - time.monotonic()))
