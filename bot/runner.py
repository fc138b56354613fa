"""The leader's duties in one bot process: the release driver, the shared health watch and the
scheduler. Every process serves commands; only the elected one runs these (bot.scheduler)."""
from __future__ import annotations

import logging
import os

from . import jobs
from .driver import Driver
from .gates import HealthWatcher
from .model import Release
from .scheduler import Leadership, Scheduler
from .wiring import Core, health_watcher

log = logging.getLogger("graybot.runner")


class Runner:
    def __init__(self, core: Core, leader_ttl: float | None = None, misfire_grace: int | None = None,
                 driver_period: float = 1.0):
        self.core, self.driver_period = core, driver_period
        self.grace = misfire_grace if misfire_grace is not None else int(os.environ.get("GRAYBOT_MISFIRE_GRACE", 3600))
        ttl = leader_ttl if leader_ttl is not None else float(os.environ.get("GRAYBOT_LEADER_TTL", 15))
        self.driver: Driver | None = None
        self.watcher: HealthWatcher | None = None
        self.scheduler: Scheduler | None = None
        self.leadership = Leadership(core.store.r, self._elected, self._lost, ttl=ttl, every=self._every)
        core.engine.listeners.append(self._on_change)

    def start(self) -> "Runner":
        self.leadership.start()
        return self

    def stop(self) -> None:
        self.leadership.stop()

    @property
    def leading(self) -> bool:
        return self.leadership.leading.is_set()

    def wake(self, *_args) -> None:
        if self.driver is not None:
            self.driver.wake()

    def _on_change(self, release: Release, what: str, detail: str) -> None:
        if self.scheduler is not None:
            self.scheduler.on_change(release, what, detail)
        self.wake()

    def _elected(self) -> None:
        self.driver = Driver(self.core.engine, period=self.driver_period).start()
        jobs.WAKE = self.driver.wake
        self.watcher = health_watcher(self.core, self.driver.wake).start()
        self.core.engine.resume_all()            # every release continues where Redis says it is
        self.scheduler = Scheduler(self.core.engine, self.core.store.r, self.grace)
        self.scheduler.start()

    def _lost(self) -> None:
        for part in (self.scheduler, self.watcher, self.driver):
            if part is not None:
                part.stop()
        self.scheduler = self.watcher = self.driver = None
        jobs.WAKE = lambda: None

    def _every(self) -> None:
        if self.scheduler is not None:
            self.scheduler.reconcile()
