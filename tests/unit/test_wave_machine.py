"""The transitions of a release in waves: the last stage of a wave waits for the wave's approval,
approving it runs the next wave's plan from stage 0 with a clean slate of votes, and undoing
steps back to the previous finished wave."""
from __future__ import annotations

import pytest

from bot.domain.machine import IllegalTransition, transition
from bot.domain.state import Runtime
from bot.domain.model import Event, Phase, Release, Stage, Wave, WaveState

STAGES = (Stage("50%", 50, 5, 5), Stage("100%", 100, 10, 0))


def wave(cluster: str, state=WaveState.PENDING) -> Wave:
    return Wave(cluster, "default", "v1", "user-v1", "user-v2", 10, STAGES, {"router": cluster}, state)


def release(**kw) -> Release:
    base = dict(id="r1", app="user", strategy="canary", namespace="default", from_version="v1", to_version="v2",
                image="i:v2", stable_name="user-v1", new_name="user-v2", replicas=10, stages=STAGES,
                requested_by="U1", cluster="staging", origin={"router": "staging"},
                waves=(wave("staging", WaveState.RUNNING), wave("prod")), phase=Phase.PROGRESSING, stage=1)
    return Release.make(**dict(base, **kw))


def test_a_finished_wave_waits_then_approval_enters_the_next():
    gate = transition(release(), Event.WAVE_DONE, "graybot")
    assert gate.phase == Phase.WAITING and gate.waves[0].state == WaveState.DONE
    with pytest.raises(IllegalTransition, match="still has the prod wave"):
        transition(release(), Event.FINISHED, "graybot")
    gate = gate.replace(runtime=Runtime(votes={"0": ["U1"], "1": ["U2"]}, overridden_stage=1))
    moved = transition(gate, Event.APPROVE, "U2", extra={"votes": {"1": ["U2"]}})
    assert (moved.wave, moved.stage, moved.phase, moved.cluster) == (1, 0, Phase.PROGRESSING, "prod")
    assert moved.origin == {"router": "prod"} and moved.waves[1].state == WaveState.RUNNING
    assert moved.runtime.votes == {} and moved.runtime.overridden_stage is None


def test_a_one_wave_release_cannot_wave_done_and_a_last_wave_finishes():
    with pytest.raises(IllegalTransition):
        transition(release(waves=(wave("staging", WaveState.RUNNING),)), Event.WAVE_DONE, "graybot")
    last = release(wave=1, cluster="prod", waves=(wave("staging", WaveState.DONE), wave("prod", WaveState.RUNNING)))
    done = transition(last, Event.FINISHED, "graybot")
    assert done.phase == Phase.SUCCEEDED and [w.state for w in done.waves] == [WaveState.DONE, WaveState.DONE]


def test_undoing_a_wave_steps_back_to_the_previous_one_at_its_last_stage():
    undoing = release(wave=1, cluster="prod", stage=0, phase=Phase.ROLLING_BACK,
                      waves=(wave("staging", WaveState.DONE), wave("prod", WaveState.RUNNING)))
    back = transition(undoing, Event.WAVE_ROLLED_BACK, "graybot", extra={"to_wave": 0})
    assert (back.wave, back.stage, back.phase, back.cluster) == (0, 1, Phase.ROLLING_BACK, "staging")
    assert back.waves[1].state == WaveState.ROLLED_BACK and not hasattr(back.runtime, "to_wave")
    done = transition(back, Event.ROLLBACK_DONE, "graybot")
    assert [w.state for w in done.waves] == [WaveState.ROLLED_BACK, WaveState.ROLLED_BACK]


def test_waves_survive_json():
    r = release()
    assert Release.from_json(r.to_json()) == r
