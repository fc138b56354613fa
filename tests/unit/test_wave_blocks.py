"""The live message of a release in waves (pure): a line per wave, the wave gate's button and
words, and the cluster in front of every thread line."""
from __future__ import annotations

import json

from bot.domain.model import Phase, Release, Stage, Wave, WaveState
from handlers.blocks import event_text, release_blocks, to_dicts

STAGES = (Stage("50%", 50, 5, 5), Stage("100%", 100, 10, 0))


def at_gate(**kw) -> Release:
    waves = (Wave("staging", "default", "v1", "user-v1", "user-v2", 10, STAGES, {}, WaveState.DONE),
             Wave("prod", "default", "v1", "user-v1", "user-v2", 10, STAGES, {}, WaveState.PENDING))
    base = dict(id="user-1", app="user", strategy="canary", namespace="default", from_version="v1",
                to_version="v2", image="r/user:v2", stable_name="user-v1", new_name="user-v2", replicas=10,
                stages=STAGES, requested_by="U0ALICE", phase=Phase.WAITING, stage=1, cluster="staging",
                waves=waves, last_actor="graybot", last_action="wave_done")
    return Release.make(**dict(base, **kw))


def text_of(release: Release, live=None) -> str:
    return json.dumps(to_dicts(release_blocks(release, live)), ensure_ascii=False)


def test_the_wave_gate_offers_the_next_wave():
    blocks = to_dicts(release_blocks(at_gate()))
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [e["text"]["text"] for e in actions] == ["Approve wave prod", "Pause", "Rollback"]
    text = text_of(at_gate())
    assert "wave 1 *staging* · done" in text and "wave 2 *prod* · pending" in text
    assert "waiting for approval to start wave *prod*" in text


def test_the_running_wave_shows_its_stage_and_ready_pods():
    waves = at_gate().waves
    running = at_gate(phase=Phase.PROGRESSING, stage=0, wave=1, cluster="prod",
                      waves=(waves[0], Wave(**{**waves[1].__dict__, "state": WaveState.RUNNING})))
    text = text_of(running, {"new_ready": 3, "old_ready": 7})
    assert "wave 2 *prod* · stage 1/2 50% · ready new 3 / old 7" in text and "[prod] 1/2" in text


def test_every_thread_line_names_its_cluster():
    assert event_text(at_gate(), "wave_done", "").startswith("[staging] :white_check_mark: wave *staging* done")
    voted = event_text(at_gate(last_actor="U0BOB", last_action="vote"), "vote", "")
    assert voted == "[staging] :ballot_box_with_check: <@U0BOB> approved starting the *prod* wave; " \
                    "waiting for more approvals"
    one = at_gate(waves=(), cluster="default")
    assert event_text(one, "pause", "").startswith("graybot paused")      # one cluster: no prefix
