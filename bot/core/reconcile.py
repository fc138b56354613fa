"""Converges one release through its stages and gates: apply the current stage, hold it through
its gates (readiness, bake, metrics, deadline), then save what it reached. Used by the engine
under the app's lock, through the narrow `Saves` interface below; it never talks to chat."""
from __future__ import annotations

import json
from typing import Callable, Protocol, TypeVar

from bot.adapters import telemetry
from bot.adapters.store import Store
from bot.domain import timing
from bot.domain.apps import Registry
from bot.domain.model import Event, Phase, Release
from bot.domain.names import GATE_CHART as CHART, GRAYBOT
from bot.gates import FAIL, INCONCLUSIVE, PASS, MetricGate
from bot.gates.webhooks import WebhookGate

from bot.language.text import handback_yaml
from bot.workloads import Workload

from .handback import HandBack
from . import waves
from .gitops import GitOpsGuard



T = TypeVar("T")


class Saves(Protocol):
    """What reconciling needs of the engine: its parts, its one save, its guarded cluster step."""
    registry: Registry
    strategies: dict
    store: Store
    metrics: MetricGate
    webhooks: WebhookGate
    gitops: GitOpsGuard
    clock: Callable[[], float]
    default_tz: str

    def save(self, release: Release, event: Event, actor: str, reason: str = "",
             detail: str = "", extra: dict | None = None) -> Release: ...

    def safely(self, step: Callable[[Workload, Release], T], release: Release) -> tuple[bool, T | None]: ...

    def announce(self, release: Release, what: str, detail: str) -> None: ...


class Reconciler:
    """Built by bot/wiring.py; the engine attaches itself (the one save it goes through)."""
    engine: Saves

    def attach(self, engine: Saves) -> None:
        self.engine = engine
        self.handback = HandBack(engine)

    def drive(self, release: Release) -> Release:
        if release.phase == Phase.PROGRESSING:
            return self._progressing(release)
        if release.phase == Phase.ROLLING_BACK:
            return self._rolling_back(release)
        return release

    # -- failures -------------------------------------------------------------------------
    def _auto_rollback(self, release: Release) -> bool:
        app = self.engine.registry.get(release.app)
        return release.command.auto_rollback and (app is None or app.gates.auto_rollback)

    def gate_failed(self, release: Release, evidence: str, counted_as: str = "") -> Release:
        """`counted_as`: the gate that failed, when it has counted its evaluation already (a
        metric or webhook gate); otherwise the health gate failed, counted here."""
        if not counted_as:
            telemetry.GATE_EVALUATIONS.labels(gate="health", result=FAIL).inc()
        if release.runtime.overridden_stage == release.stage:
            return release
        if self._auto_rollback(release):
            return self.drive(self.engine.save(release, Event.GATE_FAILED, GRAYBOT, evidence))
        return self.engine.save(release, Event.GATE_HELD, GRAYBOT, evidence)

    # -- a stage ------------------------------------------------------------------------------
    def _gate(self, release: Release, ready_detail: str) -> tuple[str, str]:
        """(pass|fail|inconclusive|wait, evidence) for a stage whose pods are ready."""
        engine = self.engine
        app = engine.registry[release.app]
        now = engine.clock()
        settled = engine.store.stage_clock(release.id, release.stage_key, "settled", now)
        hold = max(release.command.bake or app.gates.bake, app.gates.min_ready)
        if now - settled < hold:
            return "wait", f"baking: {int(hold - (now - settled))}s left"
        if not app.gates.metrics or release.runtime.overridden_stage == release.stage:
            return PASS, ready_detail
        if release.current.weight == 0 and not release.command.match and not release.current.mirror:
            # by design no traffic reaches the new version yet (blue/green before its switch; a
            # shadow stage's copies do reach it, and are judged):
            # its metric gates are judged after the switch, during that stage's bake
            return PASS, f"{ready_detail}; no traffic to {release.to_version} by design at this stage"
        verdict = engine.metrics.evaluate(app, release)
        telemetry.GATE_EVALUATIONS.labels(gate="metric", result=verdict.result).inc()
        for chart in engine.metrics.charts(app, release, verdict, max(int(hold), 60)):
            engine.announce(release, CHART, json.dumps(chart))       # the thread gets the picture
        return verdict.result, f"{ready_detail}; {verdict.evidence}"

    def _pre_stage_hooks(self, release: Release) -> Release | None:
        """pre-rollout (before stage 0) and pre-promotion (before every later stage), once per
        stage; None when they passed (or there are none) and the release is as loaded, else the
        release they stopped, or the one saved while they ran."""
        engine, app = self.engine, self.engine.registry[release.app]
        kinds = ("pre-rollout",) if release.stage == 0 else ("pre-promotion",)
        hooks = [(kind, app.rules.hooks(kind)) for kind in kinds if app.rules.hooks(kind)]
        if not hooks or release.runtime.overridden_stage == release.stage or \
                engine.store.stage_mark(release.id, release.stage_key, "hooks") is not None:
            return None
        for kind, kind_hooks in hooks:
            verdict = engine.webhooks.run(kind, kind_hooks, release)
            telemetry.GATE_EVALUATIONS.labels(gate="webhook", result=verdict.result).inc()
            if verdict.result == FAIL:
                return self.gate_failed(release, verdict.evidence, counted_as="webhook")
            if verdict.result == INCONCLUSIVE:
                return engine.save(release, Event.GATE_INCONCLUSIVE, GRAYBOT, verdict.evidence)
            engine.store.record(release.id, GRAYBOT, "webhook", verdict.evidence)
        engine.store.stage_clock(release.id, release.stage_key, "hooks", engine.clock())
        return self._moved_on(release)      # a stop saved while they ran: their answer is discarded

    def _moved_on(self, release: Release) -> Release | None:
        """The saved release, if it changed since `release` was loaded (a stop saved without the
        lock while a gate's call ran); None when this step may go on to the cluster."""
        fresh = self.engine.store.get(release.id)
        return fresh if fresh is None or fresh.version != release.version else None

    def _reconciliation_suspended(self, release: Release) -> bool:
        """`gitops: suspend`: before graybot's first change, once (retried until it works)."""
        engine = self.engine
        if not (release.origin.get("gitops") or {}).get("policy") == "suspend" or \
                engine.store.stage_mark(release.id, waves.first_stage_key(release), "gitops") is not None:
            return True
        if not engine.safely(engine.gitops.suspend, release)[0]:
            return False
        engine.store.stage_clock(release.id, waves.first_stage_key(release), "gitops", engine.clock())
        engine.store.record(release.id, GRAYBOT, "gitops_suspended", engine.gitops.suspended_text(release))
        return True

    def _hand_back(self, release: Release) -> None:
        """A release of a GitOps-managed app succeeded: say in its thread what Git must now hold,
        and send it as JSON to the app's `gitops` webhooks (for a CI job that commits it)."""
        if not (release.origin.get("gitops") or {}).get("claims"):
            return
        engine, app = self.engine, self.engine.registry[release.app].at(release.cluster)
        ok, change = engine.safely(lambda _workload, r: engine.gitops.handback(r, app.service), release)
        if not ok or change is None:
            return
        engine.announce(release, "gitops_handback", handback_yaml(release.app, release, change))
        if app.rules.hooks("gitops"):
            verdict = engine.webhooks.run("gitops", app.rules.hooks("gitops"), release, {"handback": change})
            engine.store.record(release.id, GRAYBOT, "webhook", f"{verdict.result}: {verdict.evidence}")

    def after(self, release: Release, kind: str) -> None:
        """post-rollout and rollback hooks: told, recorded; they cannot change the outcome."""
        hooks = self.engine.registry[release.app].rules.hooks(kind) if release.app in self.engine.registry else ()
        if hooks:
            verdict = self.engine.webhooks.run(kind, hooks, release)
            self.engine.store.record(release.id, GRAYBOT, "webhook", f"{verdict.result}: {verdict.evidence}")

    def _progressing(self, release: Release) -> Release:
        engine = self.engine
        strategy, app = engine.strategies[release.strategy], engine.registry[release.app]
        if (stopped := self._pre_stage_hooks(release)) is not None:
            return stopped
        if not self._reconciliation_suspended(release):
            return release
        started = engine.store.stage_clock(release.id, release.stage_key, "started", engine.clock())
        ok, progress = engine.safely(strategy.converge, release)
        if not ok or progress is None:
            return release
        if progress.failure:
            return self.gate_failed(release, progress.failure)
        if not progress.done:
            engine.store.clear_stage_clock(release.id, release.stage_key, "settled")
            if engine.clock() - started > app.gates.progress_deadline and \
                    release.runtime.overridden_stage != release.stage:
                return self.gate_failed(release, f"stage {release.current.name} not healthy within "
                                                 f"{app.gates.progress_deadline}s ({progress.detail})")
            return release
        result, evidence = self._gate(release, progress.detail)
        if result == "wait":
            return release
        if result == FAIL:
            return self.gate_failed(release, evidence, counted_as="metric")
        if result == INCONCLUSIVE:
            return engine.save(release, Event.GATE_INCONCLUSIVE, GRAYBOT, evidence)
        if release.last:
            return self._last_stage_passed(release, evidence)
        due = timing.due_after_stage(release.replace(phase=Phase.WAITING), engine.clock(), engine.default_tz)
        return engine.save(release, Event.STAGE_HEALTHY, GRAYBOT, detail=evidence, extra=self._waiting(release, due))

    def _rolling_back(self, release: Release) -> Release:
        engine = self.engine
        ok, progress = engine.safely(engine.strategies[release.strategy].rollback, release)
        if not ok or progress is None:
            return release
        if progress.failure:
            return engine.save(release, Event.ROLLBACK_FAILED, GRAYBOT, progress.failure)
        if not progress.done:
            return release
        if not engine.safely(engine.gitops.restore, release)[0]:
            return release          # reconciliation back on before the wave (or release) ends
        earlier = waves.previous_done(release)
        if release.runtime.rollback_waves and earlier is not None:
            return self.drive(engine.save(release, Event.WAVE_ROLLED_BACK, GRAYBOT,
                                          detail=f"{progress.detail}; next to undo: {release.waves[earlier].cluster}",
                                          extra={"to_wave": earlier}))
        if not self._retire_done_waves(release, include_current=False):
            return release          # the finished waves keep the new version: retire their old one
        done = engine.save(release, Event.ROLLBACK_DONE, GRAYBOT, detail=progress.detail)
        self.after(done, "rollback")
        return done

    def _waiting(self, release: Release, due: float | None) -> dict | None:
        """What a release starts waiting with: its timer, or the time a person must approve within."""
        timeout = self.engine.registry[release.app].rules.approval_timeout
        if due:
            return {"next_at": due}
        return {"approval_due": self.engine.clock() + timeout} if timeout else None

    # -- the end of a wave, and of the release ----------------------------------------------
    def _last_stage_passed(self, release: Release, evidence: str) -> Release:
        engine = self.engine
        if release.next_wave is not None:
            # the wave is done; its old version stays (scaled down) until the release ends, so
            # `rollback --all-waves` can still undo it
            due = timing.due_after_wave(release, engine.clock(), engine.default_tz)
            return engine.save(release, Event.WAVE_DONE, GRAYBOT, extra=self._waiting(release, due),
                               detail=f"{evidence}; next wave: {release.next_wave.cluster}")
        if not self._retire_done_waves(release, include_current=True):
            return release
        finished = engine.save(release, Event.FINISHED, GRAYBOT, detail=evidence)
        self.after(finished, "post-rollout")
        for index in waves.to_retire(finished, include_current=True):
            self._hand_back(finished.at_wave(index))     # each cluster's Git overlay needs its own
        return finished

    def _retire_done_waves(self, release: Release, include_current: bool) -> bool:
        """Finalize (retire the old version, then GitOps reconciliation back, or held until Git holds
        the release: handback.py) in every finished wave, and in the current one when it
        succeeded; each once, retried until it works."""
        engine, strategy = self.engine, self.engine.strategies[release.strategy]
        for index in waves.to_retire(release, include_current):
            view = release.at_wave(index)
            mark = f"w{index}" if release.in_waves else "release"
            if engine.store.stage_mark(release.id, mark, "retired") is not None:
                continue
            if not engine.safely(strategy.finalize, view)[0] or not self.handback.restore_or_hold(view, index):
                return False
            engine.store.stage_clock(release.id, mark, "retired", engine.clock())
        return True
