"""Time-driven steps on APScheduler 3 with its RedisJobStore (run only by the leading process).

Jobs are derived from the saved release state (a WAITING release with `next_at` has exactly one
job `advance:{id}`, one with `approval_due` one job `expire:{id}`): a listener keeps them in step at once, and the leader re-derives them on
election and every few seconds, so a change made by another replica is never missed.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

import redis
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot import jobs
from bot.adapters import keys, redisurl, telemetry
from bot.core.engine import Engine
from bot.domain.model import Phase, Release

log = logging.getLogger("graybot.timers")
JOBS_KEY, RUN_TIMES_KEY = keys.timer_jobs(), keys.timer_run_times()
OVERDUE = 60.0          # seconds past its time after which a job that has not fired counts as overdue
FULL_RECONCILE = 60.0   # seconds between reconciles over every active release (the index's safety net)


def job_store_client(conn: redis.Redis) -> redis.Redis:
    """RedisJobStore's client with exactly the store's connection settings (TLS and its CA, ACL
    user, password, unix socket, timeouts, the same connection class), only answering bytes (the
    jobs are pickled). One configuration for every Redis client graybot has."""
    return redisurl.variant(conn, decode_responses=False)


def job_id(release_id: str, kind: str = "advance") -> str:
    return f"{kind}:{release_id}"


# job kind -> (the option holding when it is due, the job function by importable name)
KINDS = {"advance": ("next_at", "bot.jobs:advance"), "expire": ("approval_due", "bot.jobs:approval_expired")}


class Timers:
    def __init__(self, engine: Engine, conn: redis.Redis, misfire_grace: float = 3600):
        self.engine, self.grace = engine, misfire_grace
        self.reconciled_at = 0.0
        self._full_at = -FULL_RECONCILE                     # the first reconcile reads every release
        self._synced: dict[str, int] = {}                   # release id -> version its jobs follow
        store = RedisJobStore(jobs_key=JOBS_KEY, run_times_key=RUN_TIMES_KEY)
        store.redis = self.jobs_redis = job_store_client(conn)
        self.aps = BackgroundScheduler(jobstores={"default": store}, timezone=timezone.utc,
                                       job_defaults={"coalesce": True, "max_instances": 1,
                                                     "misfire_grace_time": misfire_grace},
                                       # after Redis failed (a failover), look again within a second
                                       jobstore_retry_interval=1.0)

    def start(self) -> None:
        jobs.ENGINE = self.engine
        self.aps.start()
        self.reconcile()

    def stop(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=True)      # a running job finishes (its calls have deadlines)

    def on_change(self, release: Release, what: str, detail: str) -> None:
        if self.aps.running:
            self.sync(release)

    def sync(self, release: Release, armed: set[str] | None = None) -> None:
        """`armed`: the ids of every job in the store, when known (a job not there is not dropped)."""
        for kind, (option, func) in KINDS.items():
            self._sync_one(release, kind, option, func, armed)

    def _sync_one(self, release: Release, kind: str, option: str, func: str, armed: set[str] | None) -> None:
        due = getattr(release.runtime, option)
        if release.phase == Phase.WAITING and due:
            if self.engine.clock() - due > self.grace:
                self._drop(release.id, kind)       # missed beyond the grace: a human decides instead
                return
            job = self.aps.get_job(job_id(release.id, kind))
            if job is not None and list(job.args) == [release.id, release.version]:
                return
            self.aps.add_job(func, "date", id=job_id(release.id, kind), replace_existing=True,
                             run_date=datetime.fromtimestamp(due, timezone.utc),
                             args=[release.id, release.version], name=f"{kind} {release.app}")
        elif armed is None or job_id(release.id, kind) in armed:
            self._drop(release.id, kind)

    def _drop(self, release_id: str, kind: str = "advance") -> None:
        try:
            self.aps.remove_job(job_id(release_id, kind))
        except JobLookupError:
            pass

    def reconcile(self) -> None:
        """Bring the jobs in line with the saved releases, whoever saved them (another process,
        the CLI): from the store's index of waiting releases with a timer and their versions (one
        command), loading only those that changed; over every release now and then."""
        started = time.time()
        if started - self._full_at > FULL_RECONCILE:
            self._full_reconcile()
            self._full_at = started
        else:
            timed = self.engine.store.timed()
            for release_id in set(self._synced) | set(timed):
                if self._synced.get(release_id) == timed.get(release_id):
                    continue
                release = self.engine.store.get(release_id)
                if release is not None:
                    self.sync(release)
                else:
                    for kind in KINDS:
                        self._drop(release_id, kind)
                self._synced.pop(release_id, None)
                if release_id in timed:
                    self._synced[release_id] = timed[release_id]
        self.aps.wakeup()
        self.reconciled_at = started      # every job due before this instant has been derived
        self.count_overdue(started)

    def count_overdue(self, now: float) -> None:
        """Jobs due over a minute ago and still in the store: timers that are not firing (for
        the alert "a release waits longer than its timeout")."""
        telemetry.TIMERS_OVERDUE.set(self.jobs_redis.zcount(RUN_TIMES_KEY, "-inf", now - OVERDUE))

    def _full_reconcile(self) -> None:
        active = {r.id: r for r in self.engine.store.reindex()}
        armed = {job.id for job in self.aps.get_jobs()}
        for armed_id in armed:
            kind, _, release_id = armed_id.partition(":")
            if kind in KINDS and release_id not in active:
                self._drop(release_id, kind)
        for release in active.values():       # 500 releases waiting for a person: no call for each
            self.sync(release, armed)
        self._synced = self.engine.store.timed()
