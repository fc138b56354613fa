"""Release records written by schema 1 (the code before typed state) load under schema 2: the
running wave's plan from the top-level fields, the command and runtime keys from `options`,
`channel` as the conversation. The records are as the old code wrote them (tests/fixtures)."""
from __future__ import annotations

import json
from pathlib import Path

from bot.domain.machine import transition
from bot.domain.model import SCHEMA, Event, Phase, Release, WaveState
from bot.domain.state import Match

RECORDS = json.loads((Path(__file__).parent.parent / "fixtures" / "schema1_releases.json").read_text())


def test_a_one_cluster_record_becomes_one_wave_with_typed_command_and_runtime():
    r = Release.from_json(RECORDS["one_cluster"])
    assert r.schema == SCHEMA and len(r.waves) == 1 and not r.in_waves
    assert (r.cluster, r.namespace, r.stable_name, r.new_name, r.replicas) == ("default", "default", "user-v1",
                                                                             "user-v2", 10)
    assert r.waves[0].state == WaveState.RUNNING and r.stage == 1 and r.phase == Phase.WAITING
    assert r.command.auto == 60 and r.command.steps == (10, 30, 50, 100) and r.command.approvals_needed == 2
    assert r.command.match == Match("header", "x-canary", "yes")
    assert r.runtime.votes == {"1": ["U0BOB"]} and r.runtime.next_at == 1764583870.0
    assert r.conversation == "C0RELEASE" and r.platform == "slack"


def test_a_two_wave_record_takes_the_running_wave_from_its_top_level_fields():
    r = Release.from_json(RECORDS["two_waves"])
    assert r.in_waves and r.wave == 1 and r.cluster == "prod"
    assert r.replicas == 4 and r.origin == {"router": "replicas", "gitops": {}, "fresh": True}   # not waves[1]'s stale copy
    assert r.waves[0].replicas == 10 and r.waves[0].state == WaveState.DONE
    assert r.runtime.overridden_stage == 2 and r.runtime.rollback_waves and r.command.wave_every == 3600


def test_an_upgraded_record_saves_as_schema_2_and_moves_on():
    r = Release.from_json(RECORDS["one_cluster"])
    again = Release.from_json(r.to_json())
    assert again == r and json.loads(r.to_json())["schema"] == SCHEMA and "options" not in json.loads(r.to_json())
    moved = transition(r, Event.APPROVE, "U0CAROL")
    assert (moved.phase, moved.stage, moved.version) == (Phase.PROGRESSING, 2, 5)
    assert moved.runtime.next_at is None and moved.runtime.votes == {"1": ["U0BOB"]}
