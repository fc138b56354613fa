"""What timers decide, as part of the engine: a timer advancing a waiting release (unless the
state moved on, a freeze holds it or its window is closed), an approval timing out, and where a
person's approval or resume hands over to a timer (a gray batch with `--at`, a closed `--window`,
re-arming after a resume). A mixin of Engine: it uses the engine's store, clock and apply."""
from __future__ import annotations

import logging
from typing import Callable

from bot.adapters.store import Store
from bot.domain import timing, traits
from bot.domain.apps import Registry
from bot.domain.model import Event, Phase, Release
from bot.domain.names import SCHEDULER

from . import approvals, refusals
from .freezes import FreezeDesk
from .planner import Unreachable
from .refusals import Refused

log = logging.getLogger("graybot.engine")


class TimedSteps:
    store: Store
    registry: Registry
    freezes: FreezeDesk
    clock: Callable[[], float]
    default_tz: str

    def apply(self, release_id: str, event: Event, actor: str, expected_version: int | None = None,
              reason: str = "", extra: dict | None = None, outside_window: bool = False) -> Release:
        raise NotImplementedError

    def _load(self, release_id: str) -> Release:
        raise NotImplementedError

    def _timed(self, release: Release, event: Event, actor: str, extra: dict,
               outside_window: bool = False) -> tuple[Event, dict]:
        """Where a timer decides: approving a gray batch with `--at` schedules the first batch
        instead of applying it; an approval while the release's `--window` is closed waits for
        its opening (unless `approve --now`); resuming a timed release re-arms its timer from now."""
        now = self.clock()
        if event == Event.APPROVE and release.phase == Phase.WAITING and actor != SCHEDULER:
            due = timing.due_after_gray_approval(release, now, self.default_tz)
            if due is not None and not release.runtime.gray_approved:
                return Event.SCHEDULE, dict(extra, next_at=due, gray_approved=actor)
            window, tz = release.command.window, timing.zone(release.command.tz, self.default_tz)
            if window and not outside_window and not timing.in_window(window, now, tz):
                approved = {"gray_approved": actor} if release.stage == 0 and traits.of(release.strategy).gray_gate \
                    else {}
                return Event.SCHEDULE, dict(extra, next_at=timing.into_window(window, now, tz), **approved)
        if event == Event.RESUME and release.paused_from == Phase.WAITING:
            waiting = release.replace(phase=Phase.WAITING)
            due = (timing.due_after_gray_approval(waiting, now, self.default_tz)
                   if release.runtime.gray_approved and release.stage == 0
                   else timing.due_after_wave(waiting, now, self.default_tz) if waiting.last
                   else timing.due_after_stage(waiting, now, self.default_tz))
            if due is not None:
                extra["next_at"] = due
            if (expiry := self.registry[release.app].rules.approval_timeout) and due is None:
                extra["approval_due"] = now + expiry        # the clock starts again from now
        return event, extra

    def expire_approval(self, release_id: str, expected_version: int) -> Release | None:
        """A stage waited longer than the app's approval_timeout: pause it (or roll it back)."""
        release = self.store.get(release_id)
        if release is None or release.version != expected_version or release.phase != Phase.WAITING:
            return release
        event, reason = approvals.on_expiry(self.registry[release.app].rules, release)
        try:
            return self.apply(release_id, event, SCHEDULER, expected_version, reason=reason)
        except Refused as err:
            log.info("approval expiry for %s changed nothing: %s", release_id, err)
            return self.store.get(release_id)

    def advance(self, release_id: str, expected_version: int) -> Release | None:
        """A timer fired: approve the next stage, unless the state moved on (compare-and-set
        decides, never the scheduler) or the window is closed (then wait for its opening)."""
        release = self.store.get(release_id)
        if release is None or release.version != expected_version or release.phase != Phase.WAITING:
            return release
        window, tz = release.command.window, timing.zone(release.command.tz, self.default_tz)
        now = self.clock()
        try:
            if (held := self.freezes.held(release.app)) is not None:    # wait for the freeze's end
                return self.apply(release_id, Event.SCHEDULE, SCHEDULER, expected_version,
                                  reason=refusals.frozen(release.app, *held), extra={"next_at": held[0]})
            if window and not timing.in_window(window, now, tz):
                return self.apply(release_id, Event.SCHEDULE, SCHEDULER, expected_version,
                                  extra={"next_at": timing.into_window(window, now, tz)})
            return self.apply(release_id, Event.APPROVE, SCHEDULER, expected_version)
        except Refused as err:
            log.info("timer for %s changed nothing: %s", release_id, err)
            if release.last and release.next_wave is not None and self._load(release_id).version == expected_version:
                down = {"cluster_down": err.cluster} if isinstance(err, Unreachable) else {}   # resumes by itself
                return self.apply(release_id, Event.PAUSE, SCHEDULER, expected_version,   # say so, not wait
                                  reason=f"the {release.next_wave.cluster} wave cannot start: {err}", extra=down)
            return self.store.get(release_id)

