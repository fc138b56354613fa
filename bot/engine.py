"""The release engine: every operation is load -> decide -> save -> apply, under the app's lock.

The decision is saved (compare-and-set) before the cluster is touched, so a crash leaves a
state that says what was intended; `tick` re-runs the idempotent strategy step until the
cluster matches, then saves the outcome. Listeners hear about a change only after it is saved.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator

from .grammar import ActionCommand, StartCommand
from .kube import Kube, KubeError
from . import metrics as prom
from .gates import FAIL, INCONCLUSIVE, PASS, MetricGate
from .machine import IllegalTransition, transition
from .model import Event, Phase, Release
from .plans import PlanError, Target, main_container, version_label
from .settings import Registry
from .store import AppBusy, LockBusy, StaleState, Store

log = logging.getLogger("graybot.engine")
Listener = Callable[[Release, str, str], None]     # (release, what happened, detail)
ACTION_EVENTS = {"pause": Event.PAUSE, "resume": Event.RESUME, "rollback": Event.ROLLBACK,
                 "continue": Event.OVERRIDE}


class Refused(Exception):
    """The request changes nothing; the message tells the person why."""


def when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def already(release: Release | None, first: dict | None = None) -> str:
    """Why a stale request changed nothing: who acted first and when, and where things are now."""
    if release is None:
        return "that release no longer exists"
    action, actor, at = release.last_action, release.last_actor, release.updated_at
    if first is not None:
        action, actor, at = first["action"], first["actor"], float(first["at"])
    return (f"already done: {action.replace('_', ' ')} by {actor} at {when(at)}; "
            f"{release.app} is now {release.phase.value} at stage {release.current.name}")


class Engine:
    def __init__(self, store: Store, kube: Kube, registry: Registry, strategies: dict,
                 metrics: MetricGate | None = None, clock: Callable[[], float] = time.time):
        """`strategies`: name -> strategy object (strategies.build), wired by bot/app.py or the CLI."""
        self.store, self.kube, self.registry = store, kube, registry
        self.strategies = strategies
        self.metrics = metrics or MetricGate("")
        self.clock = clock
        self.listeners: list[Listener] = []

    # -- planning -----------------------------------------------------------------------
    def _target(self, cmd: StartCommand) -> Target:
        app = self.registry[cmd.app]
        serving = sorted((d for d in self.kube.deployments(app.namespace, app.labels)
                          if d["spec"].get("replicas", 0) > 0),
                         key=lambda d: -d["spec"]["replicas"])
        if not serving:
            raise Refused(f"no running Deployment of {app.name} matches "
                          f"{app.labels} in namespace {app.namespace}")
        stable = serving[0]
        image = main_container(stable, app.name)["image"]
        current = app.version_of(image) or version_label(stable) or "unknown"
        if current == cmd.version:
            raise Refused(f"{app.name} already runs {cmd.version} ({stable['metadata']['name']})")
        return Target(app, stable, current, cmd.version, app.image_for(cmd.version))

    def plan(self, cmd: StartCommand, actor: str) -> Release:
        """The release a command would start: stages and cluster math, nothing written."""
        if cmd.strategy not in self.strategies:
            raise Refused(f"the {cmd.strategy} strategy is not available yet")
        target = self._target(cmd)
        try:
            plan = self.strategies[cmd.strategy].plan(self.kube, target, cmd)
        except PlanError as err:
            raise Refused(str(err)) from None
        now = time.time()
        options = {k: v for k, v in vars(cmd).items() if k not in ("app", "version", "strategy")}
        options["match"] = dataclasses.asdict(cmd.match) if cmd.match else None
        return Release(id=Release.new_id(cmd.app), app=cmd.app, strategy=cmd.strategy,
                       namespace=target.app.namespace, from_version=target.from_version,
                       to_version=cmd.version, image=target.image, stable_name=target.stable_name,
                       new_name=plan.new_name, replicas=target.replicas, stages=plan.stages,
                       requested_by=actor, options=options, created_at=now, updated_at=now,
                       last_actor=actor, last_action="create", origin=plan.origin)

    # -- commands -----------------------------------------------------------------------
    def start(self, cmd: StartCommand, actor: str, channel: str = "") -> Release:
        if cmd.dry_run:
            return self.plan(cmd, actor)
        with self._lock(cmd.app):
            busy = self.store.active_for(cmd.app)
            if busy is not None:
                raise Refused(self._busy(busy))
            release = self.plan(cmd, actor).replace(channel=channel)
            try:
                self.store.create(release, actor, detail=f"{cmd.strategy} {cmd.app}-{cmd.version}")
            except AppBusy as err:
                raise Refused(self._busy(err.current)) from None
            started = self._save(release, Event.START, actor)
            return self._drive(started)

    def act(self, cmd: ActionCommand, actor: str, expected_version: int | None = None) -> Release:
        release = self.store.active_for(cmd.app)
        if release is None:
            raise Refused(f"{cmd.app} has no active release")
        if cmd.verb == "approve":
            event = Event.APPROVE_FULL if cmd.full else Event.APPROVE
        else:
            event = ACTION_EVENTS[cmd.verb]
        return self.apply(release.id, event, actor, expected_version)

    def apply(self, release_id: str, event: Event, actor: str, expected_version: int | None = None,
              reason: str = "") -> Release:
        release = self.store.get(release_id)
        if release is None:
            raise Refused(f"no release {release_id}")
        with self._lock(release.app):
            release = self.store.get(release_id)
            if expected_version is not None and release.version != expected_version:
                raise Refused(already(release, self.store.first_change_after(release.id, expected_version)))
            saved = self._save(release, event, actor, reason)
            strategy = self.strategies[saved.strategy]
            if event == Event.PAUSE:
                self._safely(strategy.pause, saved)
            elif event == Event.RESUME:
                self._safely(strategy.resume, saved)
            return self._drive(saved)

    def fail_gate(self, release_id: str, evidence: str) -> Release:
        """A gate failed (health watch, deadline or metric): roll back at once, or hold the
        release for a human when auto-rollback is off. Idempotent: a second report changes nothing."""
        with self._lock(self.store.get(release_id).app):
            release = self.store.get(release_id)
            if release.phase not in (Phase.PROGRESSING, Phase.WAITING):
                return release
            return self._gate_failed(release, evidence)

    def tick(self, release_id: str) -> Release | None:
        """Converge one release towards its saved intent; saves what it reaches."""
        release = self.store.get(release_id)
        if release is None or not release.phase.live:
            return release
        try:
            with self._lock(release.app, wait=0.5):
                return self._drive(self.store.get(release_id))
        except Refused:
            return release     # another worker is on it

    def resume_all(self) -> list[Release]:
        """At start-up: pick every active release up where its saved state says it is."""
        return [r for r in (self.tick(rel.id) for rel in self.store.active()) if r is not None]

    def settle(self, release_id: str, timeout: float = 120, interval: float = 0.1) -> Release:
        """Tick until the release rests (waiting, paused or finished) or the timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            release = self.tick(release_id)
            if release.phase not in (Phase.PROGRESSING, Phase.ROLLING_BACK) or time.monotonic() > deadline:
                return release
            time.sleep(interval)

    def observe(self, release: Release) -> dict:
        """Ready pods now, per side (for the live message); empty when the cluster is unreachable."""
        try:
            new = self.kube.deployment(release.namespace, release.new_name)
            old = self.kube.deployment(release.namespace, release.stable_name)
        except KubeError:
            return {}
        ready = lambda d: (d or {}).get("status", {}).get("readyReplicas", 0)  # noqa: E731
        if release.new_name == release.stable_name:
            return {"new_ready": ready(new), "old_ready": 0}
        return {"new_ready": ready(new), "old_ready": ready(old)}

    # -- internals ----------------------------------------------------------------------
    @contextmanager
    def _lock(self, app: str, wait: float = 10) -> Iterator[None]:
        try:
            with self.store.app_lock(app, wait=wait):
                yield
        except LockBusy:
            raise Refused(f"{app} is busy with another request; try again") from None

    def _busy(self, busy: Release) -> str:
        return (f"{busy.app} already has an active release: {busy.id} ({busy.strategy} to "
                f"{busy.to_version}, {busy.phase.value} at stage {busy.current.name}, "
                f"started by {busy.requested_by}). Finish or roll it back first.")

    def _save(self, release: Release, event: Event, actor: str, reason: str = "",
              detail: str = "") -> Release:
        try:
            new = transition(release, event, actor, reason)
        except IllegalTransition as err:
            raise Refused(str(err)) from None
        try:
            self.store.save(new, release.version, actor, event.value, detail or reason)
        except StaleState as err:
            first = self.store.first_change_after(release.id, release.version)
            raise Refused(already(err.current, first)) from None
        self._announce(new, event.value, detail or reason)
        return new

    def _announce(self, release: Release, what: str, detail: str) -> None:
        for listener in self.listeners:
            try:
                listener(release, what, detail)
            except Exception:   # a broken notifier must never stop a release
                log.exception("listener failed for %s", release.id)

    def _safely(self, step: Callable[..., object], release: Release) -> tuple[bool, object]:
        """(ok, result): a cluster error is recorded and retried on the next tick."""
        try:
            return True, step(self.kube, release)
        except KubeError as err:
            log.warning("%s: cluster step failed, will retry: %s", release.id, err)
            self.store.record(release.id, "graybot", "cluster_error", str(err))
            return False, None

    def _auto_rollback(self, release: Release) -> bool:
        app = self.registry.get(release.app)
        return release.options.get("auto_rollback", True) and (app is None or app.gates.auto_rollback)

    def _gate_failed(self, release: Release, evidence: str) -> Release:
        prom.GATE_EVALUATIONS.labels(gate="health_or_metric", result=FAIL).inc()
        if release.options.get("overridden_stage") == release.stage:
            return release
        if self._auto_rollback(release):
            return self._drive(self._save(release, Event.GATE_FAILED, "graybot", evidence))
        return self._save(release, Event.GATE_HELD, "graybot", evidence)

    def _gate(self, release: Release, ready_detail: str) -> tuple[str, str]:
        """(pass|fail|inconclusive|wait, evidence) for a stage whose pods are ready."""
        app = self.registry[release.app]
        now = self.clock()
        settled = self.store.stage_clock(release.id, release.stage, "settled", now)
        hold = max(release.options.get("bake") or app.gates.bake, app.gates.min_ready)
        if now - settled < hold:
            return "wait", f"baking: {int(hold - (now - settled))}s left"
        if not app.gates.metrics or release.options.get("overridden_stage") == release.stage:
            return PASS, ready_detail
        verdict = self.metrics.evaluate(app, release)
        prom.GATE_EVALUATIONS.labels(gate="metric", result=verdict.result).inc()
        return verdict.result, f"{ready_detail}; {verdict.evidence}"

    def _progressing(self, release: Release) -> Release:
        strategy = self.strategies[release.strategy]
        app = self.registry[release.app]
        started = self.store.stage_clock(release.id, release.stage, "started", self.clock())
        ok, progress = self._safely(strategy.converge, release)
        if not ok:
            return release
        if progress.failure:
            return self._gate_failed(release, progress.failure)
        if not progress.done:
            self.store.clear_stage_clock(release.id, release.stage, "settled")
            if self.clock() - started > app.gates.progress_deadline and \
                    release.options.get("overridden_stage") != release.stage:
                return self._gate_failed(release, f"stage {release.current.name} not healthy within "
                                                  f"{app.gates.progress_deadline}s ({progress.detail})")
            return release
        result, evidence = self._gate(release, progress.detail)
        if result == "wait":
            return release
        if result == FAIL:
            return self._gate_failed(release, evidence)
        if result == INCONCLUSIVE:
            return self._save(release, Event.GATE_INCONCLUSIVE, "graybot", evidence)
        if release.last:
            if not self._safely(strategy.finalize, release)[0]:
                return release
            return self._save(release, Event.FINISHED, "graybot", detail=evidence)
        return self._save(release, Event.STAGE_HEALTHY, "graybot", detail=evidence)

    def _drive(self, release: Release) -> Release:
        strategy = self.strategies[release.strategy]
        if release.phase == Phase.PROGRESSING:
            return self._progressing(release)
        elif release.phase == Phase.ROLLING_BACK:
            ok, progress = self._safely(strategy.rollback, release)
            if not ok:
                return release
            if progress.failure:
                return self._save(release, Event.ROLLBACK_FAILED, "graybot", progress.failure)
            if progress.done:
                return self._save(release, Event.ROLLBACK_DONE, "graybot", detail=progress.detail)
        return release
