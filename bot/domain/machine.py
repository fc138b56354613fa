"""The one transition function: (release, event) -> release, or IllegalTransition with a reason."""
from __future__ import annotations

import time

from .model import TERMINAL, Event, Phase, Release, WaveState

LIVE_NOT_PAUSED = {Phase.PENDING, Phase.PROGRESSING, Phase.WAITING}
ROLLBACK_FROM = LIVE_NOT_PAUSED | {Phase.PAUSED}

# event -> phases it may happen in
ALLOWED: dict[Event, set[Phase]] = {
    Event.START: {Phase.PENDING},
    Event.STAGE_HEALTHY: {Phase.PROGRESSING},
    Event.FINISHED: {Phase.PROGRESSING},
    Event.APPROVE: {Phase.WAITING},
    Event.APPROVE_FULL: {Phase.WAITING, Phase.PROGRESSING},
    Event.VOTE: {Phase.WAITING},
    Event.PAUSE: {Phase.PROGRESSING, Phase.WAITING},
    Event.RESUME: {Phase.PAUSED},
    Event.ROLLBACK: ROLLBACK_FROM,
    Event.GATE_FAILED: {Phase.PROGRESSING, Phase.WAITING},
    Event.GATE_INCONCLUSIVE: {Phase.PROGRESSING, Phase.WAITING},
    Event.GATE_HELD: {Phase.PROGRESSING, Phase.WAITING},
    Event.OVERRIDE: {Phase.PAUSED},
    Event.SCHEDULE: {Phase.WAITING},
    Event.ROLLBACK_DONE: {Phase.ROLLING_BACK},
    Event.ROLLBACK_FAILED: {Phase.ROLLING_BACK},
    Event.WAVE_DONE: {Phase.PROGRESSING},
    Event.WAVE_ROLLED_BACK: {Phase.ROLLING_BACK},
}


class IllegalTransition(Exception):
    """The event does not apply to the release's phase; the message says why, for people."""


def _why_not(release: Release, event: Event) -> str:
    phase = release.phase
    if phase in TERMINAL:
        return f"release {release.id} is already {phase.value}"
    if event in (Event.APPROVE, Event.APPROVE_FULL) and phase == Phase.PROGRESSING:
        return f"stage {release.current.name} is still being applied; approve once it is healthy"
    if event == Event.APPROVE and phase == Phase.PAUSED:
        return f"release {release.id} is paused; resume it first"
    if event == Event.RESUME:
        return f"release {release.id} is not paused (it is {phase.value})"
    if event == Event.OVERRIDE:
        return f"release {release.id} is not held by a gate, so there is nothing to continue past " \
               f"(it is {phase.value})"
    if event == Event.PAUSE and phase == Phase.PAUSED:
        return f"release {release.id} is already paused"
    if phase == Phase.ROLLING_BACK:
        return f"release {release.id} is rolling back"
    return f"{event.value} does not apply while the release is {phase.value}"


# the pauses `continue` may go past: a gate that failed (auto-rollback off) or had no data
HELD_BY_GATE = {Event.GATE_HELD.value, Event.GATE_INCONCLUSIVE.value}

# events after which no timer may advance the release (the timer belonged to the old state)
KEEPS_TIMER = {Event.SCHEDULE, Event.STAGE_HEALTHY, Event.RESUME, Event.VOTE}


def _entered(release: Release, index: int, left_as: WaveState, phase: Phase) -> dict:
    """The changes of moving to wave `index`: its plan becomes the release's top level."""
    if not 0 <= index < len(release.waves):
        raise IllegalTransition(f"release {release.id} has no wave {index + 1}")
    moved = release.enter_wave(index, left_as)
    return {"wave": moved.wave, "waves": moved.waves, "stage": moved.stage, "phase": phase}


def transition(release: Release, event: Event, actor: str, reason: str = "",
               now: float | None = None, extra: dict | None = None) -> Release:
    """Apply one event. The result carries the next state version; saving is the store's job.
    `extra` changes the release's runtime fields (timers, votes, flags; by name) as part of the
    same change; its `to_wave` (WAVE_ROLLED_BACK: the wave to undo next) is an argument, not a field."""
    if release.phase not in ALLOWED[event]:
        raise IllegalTransition(_why_not(release, event))
    if event == Event.OVERRIDE and release.last_action not in HELD_BY_GATE:
        raise IllegalTransition(f"release {release.id} was paused by {release.last_actor or 'a person'}, not "
                                "held by a gate: continue turns a stage's checks off, so it is only for a gate "
                                "that failed or had no data; resume it instead")
    extra = dict(extra or {})
    to_wave = extra.pop("to_wave", None)
    changes: dict = {}
    if event == Event.START:
        changes = {"phase": Phase.PROGRESSING, "stage": 0}
    elif event == Event.STAGE_HEALTHY:
        changes = {"phase": Phase.WAITING}
    elif event in (Event.FINISHED, Event.WAVE_DONE):
        if not release.last:
            raise IllegalTransition(f"stage {release.current.name} is not the last one")
        if event == Event.WAVE_DONE and release.next_wave is None:
            raise IllegalTransition(f"release {release.id} has no wave after {release.cluster}")
        if event == Event.FINISHED and release.next_wave is not None:
            raise IllegalTransition(f"release {release.id} still has the {release.next_wave.cluster} wave to run")
        changes = {"phase": Phase.SUCCEEDED if event == Event.FINISHED else Phase.WAITING}
        changes["waves"] = release.wave_state(release.wave, WaveState.DONE).waves
    elif event == Event.WAVE_ROLLED_BACK:
        changes = _entered(release, int(to_wave), WaveState.ROLLED_BACK, Phase.ROLLING_BACK)
    elif event == Event.APPROVE and release.last and release.next_wave is not None:
        changes = _entered(release, release.wave + 1, WaveState.DONE, Phase.PROGRESSING)
    elif event == Event.APPROVE:
        if release.next_stage is None:
            raise IllegalTransition(f"release {release.id} has no stage after {release.current.name}")
        changes = {"phase": Phase.PROGRESSING, "stage": release.stage + 1}
    elif event == Event.APPROVE_FULL:
        if release.last and release.next_wave is not None:
            raise IllegalTransition(f"the {release.cluster} wave is done; plain approve starts the "
                                    f"{release.next_wave.cluster} wave (--full goes to a wave's last stage)")
        if release.last:
            raise IllegalTransition(f"release {release.id} is already at its last stage")
        changes = {"phase": Phase.PROGRESSING, "stage": len(release.stages) - 1}
    elif event in (Event.PAUSE, Event.GATE_INCONCLUSIVE, Event.GATE_HELD):
        changes = {"phase": Phase.PAUSED, "paused_from": release.phase}
    elif event == Event.OVERRIDE:
        changes = {"phase": release.paused_from or Phase.PROGRESSING, "paused_from": None}
        extra.setdefault("overridden_stage", release.stage)
    elif event == Event.RESUME:
        changes = {"phase": release.paused_from or Phase.PROGRESSING, "paused_from": None,
                   "reason": ""}
    elif event in (Event.ROLLBACK, Event.GATE_FAILED):
        changes = {"phase": Phase.ROLLING_BACK, "paused_from": None}
    elif event == Event.ROLLBACK_DONE:
        changes = {"phase": Phase.ROLLED_BACK}
        changes["waves"] = release.wave_state(release.wave, WaveState.ROLLED_BACK).waves
    elif event == Event.ROLLBACK_FAILED:
        changes = {"phase": Phase.FAILED}
    elif event in (Event.SCHEDULE, Event.VOTE):
        changes = {}
    runtime = release.runtime
    if event not in KEEPS_TIMER:
        runtime = runtime.update({"next_at": None})
    runtime = runtime.update(extra)
    if changes.get("wave", release.wave) != release.wave:       # votes and marks stay with their wave
        runtime = runtime.for_new_wave()
    changes["runtime"] = runtime
    if reason:
        changes["reason"] = reason
    stamp = time.time() if now is None else now
    return release.replace(**changes, version=release.version + 1, updated_at=stamp,
                           last_actor=actor, last_action=event.value)
