"""Time-driven steps on APScheduler 3 with its RedisJobStore, and the leader lock that makes one
bot process (of however many share the Redis) run the scheduler, the driver and the watchers.

Jobs are derived from the saved release state (a WAITING release with `next_at` has exactly one
job `advance:{id}`): a listener keeps them in step at once, and the leader re-derives them on
election and every few seconds, so a change made by another replica is never missed.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timezone
from typing import Callable

import redis
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from . import jobs
from .engine import Engine
from .model import Phase, Release

log = logging.getLogger("graybot.scheduler")
JOBS_KEY, RUN_TIMES_KEY = "graybot:aps:jobs", "graybot:aps:run_times"


def _connect_args(conn: redis.Redis) -> dict:
    """The store's connection, for RedisJobStore's own client (TCP or a unix socket)."""
    kwargs = conn.connection_pool.connection_kwargs
    args = {k: kwargs[k] for k in ("host", "port", "password", "username", "db") if kwargs.get(k) is not None}
    if kwargs.get("path"):
        args = {"unix_socket_path": kwargs["path"], **{k: v for k, v in args.items() if k not in ("host", "port")}}
    return args


def job_id(release_id: str) -> str:
    return f"advance:{release_id}"


class Scheduler:
    def __init__(self, engine: Engine, conn: redis.Redis, misfire_grace: int = 3600):
        self.engine, self.grace = engine, misfire_grace
        store = RedisJobStore(jobs_key=JOBS_KEY, run_times_key=RUN_TIMES_KEY, **_connect_args(conn))
        self.aps = BackgroundScheduler(jobstores={"default": store}, timezone=timezone.utc,
                                       job_defaults={"coalesce": True, "max_instances": 1,
                                                     "misfire_grace_time": misfire_grace})

    def start(self) -> None:
        jobs.ENGINE = self.engine
        self.aps.start()
        self.reconcile()

    def stop(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)

    def on_change(self, release: Release, what: str, detail: str) -> None:
        if self.aps.running:
            self.sync(release)

    def sync(self, release: Release) -> None:
        due = release.options.get("next_at")
        if release.phase == Phase.WAITING and due:
            if self.engine.clock() - due > self.grace:
                self._drop(release.id)       # missed beyond the grace: a human approves instead
                return
            job = self.aps.get_job(job_id(release.id))
            if job is not None and list(job.args) == [release.id, release.version]:
                return
            self.aps.add_job("bot.jobs:advance", "date", id=job_id(release.id), replace_existing=True,
                             run_date=datetime.fromtimestamp(due, timezone.utc),
                             args=[release.id, release.version], name=f"advance {release.app}")
        else:
            self._drop(release.id)

    def _drop(self, release_id: str) -> None:
        try:
            self.aps.remove_job(job_id(release_id))
        except JobLookupError:
            pass

    def reconcile(self) -> None:
        active = {r.id: r for r in self.engine.store.active()}
        for job in self.aps.get_jobs():
            if job.id.startswith("advance:") and job.id.split(":", 1)[1] not in active:
                self._drop(job.id.split(":", 1)[1])
        for release in active.values():
            self.sync(release)
        self.aps.wakeup()


class Leadership:
    """A Redis lock with renewal (redis-py Lock): the holder leads; if it dies, the lock
    expires after `ttl` seconds and another process takes over."""

    KEY = "graybot:leader"

    def __init__(self, conn: redis.Redis, on_elected: Callable[[], None], on_lost: Callable[[], None],
                 ttl: float = 15.0, every: Callable[[], None] = lambda: None):
        self.conn, self.ttl = conn, ttl
        self.on_elected, self.on_lost, self.every = on_elected, on_lost, every
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.lock = conn.lock(self.KEY, timeout=ttl, thread_local=False)
        self.leading = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)

    def start(self) -> "Leadership":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        if self.leading.is_set():
            self._step_down()
            try:
                self.lock.release()
            except redis.exceptions.LockError:
                pass

    def _step_down(self) -> None:
        self.leading.clear()
        try:
            self.on_lost()
        except Exception:
            log.exception("stepping down failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.leading.is_set():
                    if self.lock.acquire(blocking=False):
                        self.conn.set(self.KEY + ":owner", self.identity, px=int(self.ttl * 1000))
                        log.info("%s leads: scheduler, driver and watchers run here", self.identity)
                        self.leading.set()
                        self.on_elected()
                else:
                    self.lock.reacquire()
                    self.conn.set(self.KEY + ":owner", self.identity, px=int(self.ttl * 1000))
                    self.every()
            except redis.exceptions.LockError:
                log.warning("%s lost the leader lock", self.identity)
                self._step_down()
            except redis.exceptions.RedisError as exc:
                log.warning("leader election: %s", exc)
            self._stop.wait(min(1.0, self.ttl / 3))     # renew, and re-derive jobs, every second
