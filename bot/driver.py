"""Moves releases between saved states: ticks every release that is applying a stage or
rolling back, at once when woken (a command, a cluster event) and on a short period otherwise."""
from __future__ import annotations

import logging
import threading

from .engine import Engine
from .model import Phase

log = logging.getLogger("graybot.driver")
MOVING = (Phase.PROGRESSING, Phase.ROLLING_BACK)


class Driver:
    def __init__(self, engine: Engine, period: float = 1.0):
        self.engine, self.period = engine, period
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="release-driver", daemon=True)

    def start(self) -> "Driver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(5)

    def wake(self, *_args) -> None:
        self._wake.set()

    def pass_once(self) -> int:
        moving = [r for r in self.engine.store.active() if r.phase in MOVING]
        for release in moving:
            try:
                self.engine.tick(release.id)
            except Exception:   # one broken release must not stall the others
                log.exception("tick failed for %s", release.id)
        return len(moving)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                busy = self.pass_once()
            except Exception:
                log.exception("driver pass failed")
                busy = 0
            # poll briskly while something is moving; otherwise sleep until woken
            self._wake.wait(self.period / 5 if busy else self.period)
