"""The release engine: every operation is load -> decide -> save -> apply, under the app's lock.

The decision is saved (compare-and-set) before the cluster is touched, so a crash leaves a
state that says what was intended; `tick` re-runs the idempotent strategy step until the
cluster matches, then saves the outcome. Listeners hear about a change only after it is saved.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

from bot.adapters.clusters import Clusters
from bot.adapters.kube import KubeError
from bot.adapters.store import AppBusy, LockBusy, StaleState, Store
from bot.domain import traits
from bot.domain.apps import Registry
from bot.domain.machine import IllegalTransition, transition
from bot.domain.model import Event, Phase, Release
from bot.domain.names import GRAYBOT, OBSERVED, SCHEDULER
from bot.gates import MetricGate
from bot.workloads import Workload, WorkloadOf
from bot.gates.webhooks import WebhookGate
from bot.language.grammar import ActionCommand, StartCommand

from . import approvals, drift, refusals
from . import outside
from .freezes import FreezeDesk
from .gitops import GitOpsGuard
from .reconcile import Reconciler
from .planner import Planner
from .timed import TimedSteps
from .refusals import Refused

__all__ = ["Engine", "Refused", "SCHEDULER"]

log = logging.getLogger("graybot.engine")
STOPS = {Event.PAUSE, Event.ROLLBACK}
STOP_WAIT = 1.0         # seconds a stop waits for the app's lock before it is saved without it


class Busy(Refused):
    """Another step holds the app's lock."""
T = TypeVar("T")
Listener = Callable[[Release, str, str], None]     # (release, what happened, detail)
ACTION_EVENTS = {"pause": Event.PAUSE, "resume": Event.RESUME, "rollback": Event.ROLLBACK,
                 "continue": Event.OVERRIDE}


@dataclass
class Parts:
    """What the engine is a façade over, each built once by bot/wiring.py."""
    store: Store
    clusters: Clusters
    registry: Registry
    strategies: dict                      # name -> strategy (strategies.build)
    workload_of: WorkloadOf                   # (cluster, kind) -> that kind's workload there (bot.workloads)
    metrics: MetricGate
    webhooks: WebhookGate
    freezes: FreezeDesk
    gitops: GitOpsGuard
    planner: Planner
    reconciler: Reconciler
    clock: Callable[[], float] = time.time
    default_tz: str = "UTC"
    thread_link: Callable[[Release], str] = lambda release: ""   # where people talk about a release (a URL)


class Engine(TimedSteps):
    def __init__(self, parts: Parts):
        self.store, self.clusters, self.registry = parts.store, parts.clusters, parts.registry
        self.strategies, self.workload_of = parts.strategies, parts.workload_of
        self.metrics, self.webhooks, self.freezes = parts.metrics, parts.webhooks, parts.freezes
        self.gitops, self.planner, self.reconciler = parts.gitops, parts.planner, parts.reconciler
        self.clock, self.default_tz, self.thread_link = parts.clock, parts.default_tz, parts.thread_link
        self.listeners: list[Listener] = []
        self._cluster_errors: dict[str, tuple[int, str]] = {}    # release id -> (stage, reason) told
        self._told = threading.Lock()
        self._app_of: dict[str, str] = {}     # release id -> app, for tick's lock (an id's app never changes)
        self.reconciler.attach(self)

    # -- planning -----------------------------------------------------------------------
    def plan(self, cmd: StartCommand, actor: str) -> Release:
        """The release a command would start: every wave's stages and cluster math, nothing written."""
        return self.planner.plan(cmd, actor)

    def workload_for(self, release: Release) -> Workload:
        app = self.registry.get(release.app)
        return self.workload_of(release.cluster, app.workload if app else "deployment")

    # -- commands -----------------------------------------------------------------------
    def start(self, cmd: StartCommand, actor: str, channel: str = "", platform: str = "slack",
              override: str = "", vet: Callable[[Release], str | None] | None = None) -> Release:
        """`vet`: the policy's last word on the planned release (None: it may start)."""
        if cmd.dry_run:
            return self.plan(cmd, actor)
        if (held := self.freezes.held(cmd.app)) is not None:
            raise Refused(refusals.frozen(cmd.app, *held))
        with self._lock(cmd.app):
            busy = self.store.active_for(cmd.app)
            if busy is not None:
                raise Refused(refusals.busy(busy))
            release = self.plan(cmd, actor).replace(conversation=channel, platform=platform, override=override)
            if vet is not None and (why := vet(release)) is not None:
                raise Refused(why)
            try:
                self.store.create(release, actor, detail=f"{cmd.strategy} {cmd.app}-{cmd.version}")
            except AppBusy as err:
                raise Refused(refusals.busy(err.current)) from None
            if override:
                self.store.record(release.id, actor, "policy_override", override)
            started = self.save(release, Event.START, actor)
            return self._drive(started)

    def act(self, cmd: ActionCommand, actor: str, expected_version: int | None = None) -> Release:
        release = self.store.active_for(cmd.app)
        if release is None:
            raise Refused(f"{cmd.app} has no active release")
        if cmd.verb == "approve":
            event = Event.APPROVE_FULL if cmd.full else Event.APPROVE
        else:
            event = ACTION_EVENTS[cmd.verb]
        if cmd.cluster and (why := refusals.other_wave(release, cmd.cluster, self.clusters.name_of(release.cluster))):
            raise Refused(why)
        extra = {}
        if cmd.verb == "rollback" and cmd.all_waves:
            if not release.in_waves:
                raise Refused(f"release {release.id} runs in one cluster; plain rollback undoes it")
            extra["rollback_waves"] = True
        if cmd.verb == "rollback" and cmd.batches:
            if not traits.of(release.strategy).undo_stage_by_stage:
                raise Refused("rollback --batches is for batch releases; plain rollback undoes this one")
            extra["rollback_batches"] = True
        return self.apply(release.id, event, actor, expected_version, extra=extra,
                          outside_window=cmd.verb == "approve" and cmd.now)

    def apply(self, release_id: str, event: Event, actor: str, expected_version: int | None = None,
              reason: str = "", extra: dict | None = None, outside_window: bool = False) -> Release:
        """One event under the app's lock. A stop (Pause, Rollback) does not wait for a lock held
        by work still running (a gate's call, a slow cluster): it is saved at once (compare-and-
        set), and the work that held the lock finds the state moved on and discards its result."""
        release = self._load(release_id)
        try:
            with self._lock(release.app, wait=STOP_WAIT if event in STOPS else 10):
                return self._apply(release_id, event, actor, expected_version, reason, extra, outside_window)
        except Busy:
            if event not in STOPS:
                raise
            log.info("%s: %s saved while another step holds the lock; it yields", release_id, event.value)
            saved = self._decide(release_id, event, actor, expected_version, reason, extra)
            if event == Event.PAUSE:
                self.safely(self.strategies[saved.strategy].pause, saved)
            return saved

    def _decide(self, release_id: str, event: Event, actor: str, expected_version: int | None,
                reason: str, extra: dict | None, outside_window: bool = False) -> Release:
        """Load, check the version the person saw, count votes, let timers decide, save."""
        release = self._load(release_id)
        if expected_version is not None and release.version != expected_version \
                and not self._only_votes_since(release, expected_version):
            raise Refused(refusals.already(release, self.store.first_change_after(release.id, expected_version)))
        if event in (Event.APPROVE, Event.APPROVE_FULL) and release.phase == Phase.WAITING:
            drift.hold_if_stale(self, release)
        event, extra = approvals.counted(self.registry[release.app].rules, release, event, actor, dict(extra or {}))
        event, extra = self._timed(release, event, actor, extra, outside_window)
        if event == Event.APPROVE and release.last and release.next_wave is not None:
            release = self.planner.replan_next_wave(release)    # the cluster as it is now
        return self.save(release, event, actor, reason, extra=extra)

    def _apply(self, release_id: str, event: Event, actor: str, expected_version: int | None,
               reason: str, extra: dict | None, outside_window: bool = False) -> Release:
        saved = self._decide(release_id, event, actor, expected_version, reason, extra, outside_window)
        strategy = self.strategies[saved.strategy]
        if event == Event.PAUSE:
            self.safely(strategy.pause, saved)
        elif event == Event.RESUME:
            self.safely(strategy.resume, saved)
        try:
            return self._drive(saved)
        except Refused:              # a stop came while this drove (a gate's call): it wins
            return self._load(release_id)

    def fail_gate(self, release_id: str, evidence: str) -> Release:
        """A gate failed (health watch, deadline or metric): roll back at once, or hold the
        release for a human when auto-rollback is off. Idempotent: a second report changes nothing."""
        with self._lock(self._load(release_id).app):
            release = self._load(release_id)
            if release.phase not in (Phase.PROGRESSING, Phase.WAITING):
                return release
            return self.reconciler.gate_failed(release, evidence)

    def tick(self, release_id: str) -> Release | None:
        """Converge one release towards its saved intent; saves what it reaches. Read once, under
        the app's lock (its app is remembered from the first tick)."""
        if (app := self._app_of.get(release_id)) is None:
            release = self.store.get(release_id)
            if release is None or not release.phase.live:
                return release
            if len(self._app_of) > 10_000:
                self._app_of.clear()
            app = self._app_of[release_id] = release.app
        try:
            with self._lock(app, wait=0.5):
                release = self.store.get(release_id)
                if release is None or not release.phase.live:
                    self._app_of.pop(release_id, None)
                    return release
                return self._drive(release)
        except Refused:        # another worker is on it: as saved (a follower goes on following)
            return self.store.get(release_id)

    def settle(self, release_id: str, timeout: float = 120, interval: float = 0.1) -> Release:
        """Tick until the release rests (waiting, paused or finished) or the timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            release = self.tick(release_id) or self._load(release_id)
            if release.phase not in (Phase.PROGRESSING, Phase.ROLLING_BACK) or time.monotonic() > deadline:
                return release
            time.sleep(interval)

    # -- internals ----------------------------------------------------------------------
    def _only_votes_since(self, release: Release, version: int) -> bool:
        """Only other people's votes on the same stage came since the person saw `version`: their
        approval is still one more vote for what they saw."""
        since = [e for e in self.store.audit(release.id) if int(e.get("version", -1)) > version]
        return release.phase == Phase.WAITING and bool(since) and all(e["action"] == Event.VOTE.value for e in since)

    def _load(self, release_id: str) -> Release:
        release = self.store.get(release_id)
        if release is None:
            raise Refused(f"no release {release_id}")
        return release

    @contextmanager
    def _lock(self, app: str, wait: float = 10) -> Iterator[None]:
        try:
            with self.store.app_lock(app, wait=wait):
                yield
        except LockBusy:
            raise Busy(f"{app} is busy with another request; try again") from None

    def notice_drift(self, release_id: str, what: str) -> Release | None:
        """Someone else changed what a release moves or routes through, while it waited or applied a
        stage: hold it, say what."""
        for _ in range(3):        # the driver may save the release meanwhile: read it again
            release = self.store.get(release_id)
            if release is None or release.phase not in (Phase.WAITING, Phase.PROGRESSING):
                return release
            try:
                return self.apply(release_id, Event.PAUSE, GRAYBOT, release.version, reason=what)
            except Refused:
                continue
        return self.store.get(release_id)

    def save(self, release: Release, event: Event, actor: str, reason: str = "",
             detail: str = "", extra: dict | None = None) -> Release:
        """The one way a release changes: transition, compare-and-set in Redis, then announce."""
        try:
            new = transition(release, event, actor, reason, now=self.clock(), extra=extra)
        except IllegalTransition as err:
            raise Refused(str(err)) from None
        try:
            self.store.save(new, release.version, actor, event.value, detail or reason)
        except StaleState as err:
            first = self.store.first_change_after(release.id, release.version)
            raise Refused(refusals.already(err.current, first)) from None
        self._announce(new, event.value, detail or reason)
        return new

    def follow_outside(self, release_id: str) -> Release | None:
        """Its controller was promoted or aborted outside graybot: follow, saying who (outside.py)."""
        return outside.follow(self, release_id)

    def observed(self, release_id: str) -> None:
        """A controller moved the release's object (watched): the views refresh; nothing is saved."""
        release = self.store.get(release_id)
        if release is not None:
            self._announce(release, OBSERVED, "")

    def announce(self, release: Release, what: str, detail: str) -> None:
        """Tell the listeners something that changed no state (a note for the release's thread)."""
        self._announce(release, what, detail)

    def _announce(self, release: Release, what: str, detail: str) -> None:
        for listener in self.listeners:
            try:
                listener(release, what, detail)
            except Exception:   # a broken notifier must never stop a release
                log.exception("listener failed for %s", release.id)

    def safely(self, step: Callable[[Workload, Release], T], release: Release) -> tuple[bool, T | None]:
        """(ok, result): a cluster error is recorded, said once in the release's thread, and
        retried on the next tick."""
        try:
            result = step(self.workload_for(release), release)
        except KubeError as err:
            log.warning("%s: cluster step failed, will retry: %s", release.id, err)
            with self._told:               # a stop saved without the app's lock may fail at once too
                first = self._cluster_errors.get(release.id) != (release.stage, err.reason)
                self._cluster_errors[release.id] = (release.stage, err.reason)
            if first:                      # said and recorded once
                self.store.record(release.id, GRAYBOT, "cluster_error", str(err))
                self._announce(release, "cluster_error", str(err))
            if err.status in (401, 403) and release.phase in (Phase.PROGRESSING, Phase.WAITING):
                drift.hold_for_credentials(self, release, err)
            return False, None
        if self._cluster_errors.pop(release.id, None) is not None:
            self._announce(release, "cluster_ok", "")
        return True, result

    def in_trouble(self, release_id: str) -> bool:
        """Did this release's last cluster step fail (and is not yet told as recovered)?"""
        return release_id in self._cluster_errors

    def _drive(self, release: Release) -> Release:
        return self.reconciler.drive(release)
