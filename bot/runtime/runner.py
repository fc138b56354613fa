"""The leader's duties in one bot process: the release driver, the shared health watch and the
timers. Every process serves commands; only the elected one runs these (leadership.py)."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from bot import jobs
from bot.core.engine import Engine
from bot.domain.model import Phase, Release
from bot.domain.names import OBSERVED

from .clusterwatch import ClusterWatch
from .driver import Driver, join_pool
from .healthwatch import HealthWatcher
from .leadership import Leadership
from .lifecycle import Loop
from .timers import Timers

log = logging.getLogger("graybot.runner")


def health_watcher(engine: Engine, wake) -> HealthWatcher:
    """The shared pod watch: fails gates through the engine, wakes the driver on changes."""
    return HealthWatcher(engine.clusters, engine.registry, engine.store.active, engine.fail_gate, wake,
                         hold=engine.notice_drift, get=engine.store.get, workload_of=engine.workload_of,
                         observed=engine.observed, outside=engine.follow_outside, listeners=engine.listeners)


class Runner:
    """`conn`: the redis-py connection the leader lock and the timers' job store use."""

    def __init__(self, engine: Engine, conn, leader_ttl: float = 15.0,
                 misfire_grace: float = 3600.0, driver_period: float = 1.0, driver_workers: int = 16):
        self.engine, self.conn, self.driver_period, self.grace = engine, conn, driver_period, misfire_grace
        self.driver_workers = driver_workers
        self.driver: Driver | None = None
        self.watcher: HealthWatcher | None = None
        self.timers: Timers | None = None
        self.clusterwatch: ClusterWatch | None = None
        self.duties: list = []          # more rounds the leader runs every second (e.g. the inbox)
        self.leader_loops: list[Callable[[], Loop]] = []    # loops made and run only while leading
        self._leader_running: list[Loop] = []
        self.timers_problem = ""        # why the timers cannot run ("" when they can, or this is no leader)
        self._followers: ThreadPoolExecutor | None = ThreadPoolExecutor(2, "follow")
        self._following: set[str] = set()
        self._following_lock = threading.Lock()
        self._stopping = threading.Event()
        self.leadership = Leadership(conn, self._elected, self._lost, ttl=leader_ttl, every=self._every)
        engine.listeners.append(self._on_change)

    def start(self) -> "Runner":
        self.leadership.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.leadership.stop()
        if self._followers is not None:
            self._followers.shutdown(wait=False, cancel_futures=True)
            join_pool(self._followers, 5.0)
            self._followers = None

    @property
    def leading(self) -> bool:
        return self.leadership.leading

    def wake(self, *_args) -> None:
        if self.driver is not None:
            self.driver.wake()

    def follow(self, release_id: str) -> None:
        """A request this process carried out moved a release: the leader's driver takes it now;
        a process that is not (yet) the leader drives it itself until it rests, so a person sees
        it move without waiting for the leader lease (after a restart, say)."""
        if self.driver is not None:
            self.driver.wake()
            return
        with self._following_lock:
            if release_id in self._following or self._followers is None:
                return
            self._following.add(release_id)
        self._followers.submit(self._follow, release_id)

    def _follow(self, release_id: str, period: float = 0.2, limit: float = 120.0) -> None:
        deadline = time.monotonic() + limit
        try:
            while time.monotonic() < deadline and not self._stopping.is_set() and self.driver is None:
                release = self.engine.tick(release_id)
                if release is None or release.phase not in (Phase.PROGRESSING, Phase.ROLLING_BACK):
                    return
                self._stopping.wait(period)
        except Exception:           # the leader's driver goes on with it
            log.exception("following %s", release_id)
        finally:
            with self._following_lock:
                self._following.discard(release_id)

    def _on_change(self, release: Release, what: str, detail: str) -> None:
        if what == OBSERVED:
            return          # nothing saved: no timer, no tick
        if self.timers is not None:
            self.timers.on_change(release, what, detail)
        self.wake()

    def _elected(self) -> None:
        self.driver = Driver(self.engine, period=self.driver_period, workers=self.driver_workers).start()
        jobs.WAKE = self.driver.wake
        self.watcher = health_watcher(self.engine, self.driver.wake).start()
        self.clusterwatch = ClusterWatch(self.engine).start()
        self.driver.wake()                  # every release continues where Redis says it is, at once and
                                            # concurrently (one in an unreachable cluster holds up no other)
        self._leader_running = [make().start() for make in self.leader_loops]
        self.timers = Timers(self.engine, self.conn, self.grace)
        try:
            self.timers.start()
            self.timers_problem = ""
        except Exception as exc:         # told by /healthz; the lock, the driver and the watches stay
            self.timers_problem = f"the timer store fails: {type(exc).__name__}: {exc}"
            log.error("%s", self.timers_problem)

    def _lost(self) -> None:
        for loop in self._leader_running:
            loop.stop()
        self._leader_running = []
        for part in (self.timers, self.clusterwatch, self.watcher, self.driver):
            if part is not None:
                part.stop()
        self.timers = self.clusterwatch = self.watcher = self.driver = None
        jobs.WAKE = lambda: None

    def _every(self) -> None:
        if self.timers is not None:
            try:
                self.timers.reconcile()
                self.timers_problem = ""
            except Exception as exc:     # never the leader's lock: said by /healthz, tried again
                self.timers_problem = f"the timer store fails: {type(exc).__name__}: {exc}"
                log.warning("%s", self.timers_problem)
        for duty in self.duties:
            try:
                duty()
            except Exception:       # one failed duty must not stop the others or the lock renewal
                log.exception("leader duty %s failed", getattr(duty, "__name__", duty))
