"""The transition function: the allowed moves, and a reason for each refused one."""
from __future__ import annotations

import pytest

from bot.domain.machine import ALLOWED, IllegalTransition, transition
from bot.domain.model import Event, Phase, Release, Stage

STAGES = tuple(Stage(f"{w}%", w, w // 10, 10 - w // 10) for w in (10, 30, 50, 100))


def release(phase=Phase.PENDING, stage=0, **kw) -> Release:
    return Release.make(id="user-1", app="user", strategy="canary", namespace="default", from_version="v1",
                   to_version="v2", image="nginx:user-v2", stable_name="user-v1", new_name="user-v2",
                   replicas=10, stages=STAGES, requested_by="U1", phase=phase, stage=stage, **kw)


def test_the_happy_path_through_every_stage():
    r = transition(release(), Event.START, "U1")
    assert (r.phase, r.stage, r.version) == (Phase.PROGRESSING, 0, 1)
    for expected in (1, 2, 3):
        r = transition(r, Event.STAGE_HEALTHY, "graybot")
        r = transition(r, Event.APPROVE, "U2")
        assert (r.phase, r.stage, r.last_actor) == (Phase.PROGRESSING, expected, "U2")
    r = transition(r, Event.FINISHED, "graybot")
    assert r.phase == Phase.SUCCEEDED and r.version == 8


def test_approve_full_jumps_to_the_last_stage():
    r = transition(release(Phase.WAITING), Event.APPROVE_FULL, "U1")
    assert (r.phase, r.stage) == (Phase.PROGRESSING, 3)


def test_pause_remembers_where_it_was():
    paused = transition(release(Phase.WAITING, 1), Event.PAUSE, "U1")
    assert paused.paused_from == Phase.WAITING
    resumed = transition(paused, Event.RESUME, "U1")
    assert (resumed.phase, resumed.paused_from, resumed.stage) == (Phase.WAITING, None, 1)


def test_rollback_from_every_live_phase():
    for phase in (Phase.PENDING, Phase.PROGRESSING, Phase.WAITING, Phase.PAUSED):
        r = transition(release(phase), Event.ROLLBACK, "U1", reason="bad")
        assert r.phase == Phase.ROLLING_BACK and r.reason == "bad"
    assert transition(release(Phase.ROLLING_BACK), Event.ROLLBACK_DONE, "graybot").phase == Phase.ROLLED_BACK
    assert transition(release(Phase.ROLLING_BACK), Event.ROLLBACK_FAILED, "graybot").phase == Phase.FAILED


@pytest.mark.parametrize("phase, event, reason", [
    (Phase.PROGRESSING, Event.APPROVE, "still being applied"),
    (Phase.PAUSED, Event.APPROVE, "is paused; resume it first"),
    (Phase.SUCCEEDED, Event.ROLLBACK, "already succeeded"),
    (Phase.WAITING, Event.RESUME, "is not paused"),
    (Phase.PAUSED, Event.PAUSE, "already paused"),
    (Phase.ROLLING_BACK, Event.APPROVE, "rolling back"),
])
def test_illegal_moves_say_why(phase, event, reason):
    with pytest.raises(IllegalTransition, match=reason):
        transition(release(phase), event, "U1")


def test_no_approve_after_the_last_stage():
    with pytest.raises(IllegalTransition, match="no stage after 100%"):
        transition(release(Phase.WAITING, 3), Event.APPROVE, "U1")


def test_every_event_has_a_row_in_the_table():
    assert set(ALLOWED) == set(Event)
    assert all(isinstance(p, Phase) for phases in ALLOWED.values() for p in phases)


def test_release_round_trips_through_json():
    r = transition(release(Phase.WAITING, 2), Event.PAUSE, "U1")
    assert Release.from_json(r.to_json()) == r
