"""Moves releases between saved states: ticks every release that is applying a stage or
rolling back, at once when woken (a command, a cluster event) and on a short period otherwise."""
from __future__ import annotations

import logging

from bot.core.engine import Engine
from bot.domain.model import Phase

from .lifecycle import Loop

log = logging.getLogger("graybot.driver")
MOVING = (Phase.PROGRESSING, Phase.ROLLING_BACK)


class Driver(Loop):
    name = "release-driver"

    def __init__(self, engine: Engine, period: float = 1.0):
        super().__init__(period)
        self.engine = engine

    def pass_once(self) -> int:
        moving = [r for r in self.engine.store.active() if r.phase in MOVING]
        for release in moving:
            try:
                self.engine.tick(release.id)
            except Exception:   # one broken release must not stall the others
                log.exception("tick failed for %s", release.id)
        return len(moving)

    def step(self) -> float:
        # poll briskly while something is moving; otherwise sleep until woken
        return self.period / 5 if self.pass_once() else self.period
