"""The live message stays inside Block Kit's limits for any release, and fits its phase."""
from __future__ import annotations

import json

import pytest

from bot.domain.state import Match, Runtime, SavedCommand
from bot.domain.model import Phase, Release, Stage
from bot.core.buttons import parse_button_value
from handlers.blocks import release_blocks, to_dicts
from tests.kit.releases import release


def big_release(stages: int, phase=Phase.WAITING, stage=5) -> Release:
    many = tuple(Stage(f"batch {i}/{stages} " + "x" * 60, min(100, i * 5), i, stages - i, "note " * 40)
                 for i in range(1, stages + 1))
    return release(phase, stage).replace(stages=many, app="a" * 63, image="registry.example.com/" + "i" * 300)


def limits_hold(blocks: list[dict]) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for button in block["elements"]:
                assert len(button["text"]["text"]) <= 75 and len(button["value"]) <= 2000
                assert len(button["action_id"]) <= 255
                if "confirm" in button:
                    assert len(button["confirm"]["title"]["text"]) <= 100
                    assert len(button["confirm"]["text"]["text"]) <= 300


@pytest.mark.parametrize("stages", [1, 4, 20, 200])
def test_any_number_of_stages_fits(stages):
    blocks = to_dicts(release_blocks(big_release(stages, stage=min(5, stages - 1))))
    limits_hold(blocks)
    if stages > 12:
        assert "more stage(s)" in json.dumps(blocks)


@pytest.mark.parametrize("phase, buttons", [
    (Phase.WAITING, ["approve", "pause", "rollback"]), (Phase.PROGRESSING, ["pause", "rollback"]),
    (Phase.PAUSED, ["resume", "rollback"]), (Phase.ROLLING_BACK, []), (Phase.SUCCEEDED, []),
    (Phase.ROLLED_BACK, []), (Phase.FAILED, [])])
def test_buttons_fit_the_phase(phase, buttons):
    blocks = to_dicts(release_blocks(release(phase, 1)))
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for a in actions for e in a["elements"]] == buttons


def test_button_value_round_trips():
    r = release(Phase.WAITING, 2).replace(version=7)
    value = to_dicts(release_blocks(r))[-1]["elements"][0]["value"]
    assert parse_button_value(value, "approve") == (r.id, 2, 7)
    with pytest.raises(ValueError, match="does not verify for 'continue'"):
        parse_button_value(value, "continue")           # the action is signed too


def test_the_message_shows_the_router_and_the_match_rule():
    r = release(Phase.WAITING, 0).replace(command=SavedCommand(match=Match("header", "role", "test")),
                                          origin={"router": "nginx"})
    text = json.dumps(to_dicts(release_blocks(r)))
    assert "router *nginx*" in text and "header `role=test`" in text


def test_a_timed_batch_shows_when_the_next_batch_goes_in_its_time_zone():
    from datetime import datetime
    from zoneinfo import ZoneInfo
    due = datetime(2026, 11, 23, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    r = release(Phase.WAITING, 1).replace(
        strategy="batch", command=SavedCommand(tz="Asia/Shanghai", window="00:00-06:00"),
        runtime=Runtime(next_at=due, gray_approved="U0OPS"))
    text = json.dumps(to_dicts(release_blocks(r)))
    assert "*50%* goes at 2026-11-23 02:00 CST" in text and "window 00:00-06:00 Asia/Shanghai" in text
    assert "gray batch approved by <@U0OPS>" in text
