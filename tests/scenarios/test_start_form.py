"""The start form through signed requests and the fake Slack: `/release` alone opens it with the
apps this person may start here; a bad version comes back on its field in the command line's words
and starts nothing; a good one shows the plan, and Start runs the slash command's path."""
from __future__ import annotations

import json

import pytest

from bot.language.grammar import UsageError, parse

from sandbox.slack import shortcut_body, slash_command_body, view_submission_body


def test_the_form_shows_the_plan_and_starts_a_canary_and_a_bad_version_is_a_field_error(make_sw):
    sw = make_sw()
    assert sw.post(slash_command_body("", "U0DAVE", "C0RELEASE")).status == 200
    opened = sw.slack.wait_for(lambda: [c for c in sw.slack.calls("views.open")], timeout=10)
    form_id, form = next(iter(sw.slack.state.views.items()))
    assert len(opened) == 1 and form["callback_id"] == "release_start"
    apps = next(b for b in form["blocks"] if b["block_id"] == "app")["element"]["options"]
    assert [o["value"] for o in apps] == ["pay", "user"]

    bad = sw.post(view_submission_body("U0DAVE", form, {"app": "user", "strategy": "canary", "version": "V2!",
                                                         "steps": "10%"}))
    answer = json.loads(bad.data)
    with pytest.raises(UsageError) as typed:                 # what the command line says to the same words
        parse("plan canary user-V2! 10%", ["user", "pay"])
    assert answer == {"response_action": "errors", "errors": {"version": typed.value.problem}}
    assert sw.world.store.active_for("user") is None and sw.bot.core.edge_state.inbox_size() == 0

    good = sw.post(view_submission_body("U0DAVE", form, {"app": "user", "strategy": "canary", "version": "v2",
                                                          "steps": "--steps 10,50"}))
    assert json.loads(good.data)["response_action"] == "update"
    planned = sw.slack.wait_for(lambda: (v := sw.slack.state.views.get(form_id)) and v["callback_id"] == "release_confirm"
                               and v.get("submit") and v, timeout=15)
    shown = planned["blocks"][0]["text"]["text"]
    assert "10%" in shown and "50%" in shown and planned["submit"]["text"] == "Start"
    assert sw.world.store.active_for("user") is None                    # a plan changes nothing

    started = sw.post(view_submission_body("U0DAVE", planned, {}))
    assert json.loads(started.data)["response_action"] == "clear"
    sw.wait_buttons("approve", "pause", "rollback")
    release = sw.world.store.active_for("user")
    assert release.requested_by == "U0DAVE" and release.to_version == "v2" and release.conversation == "C0RELEASE"
    assert [s.name for s in release.stages][:2] == ["10%", "50%"]

    assert sw.post(shortcut_body("U0DAVE", "start_release")).status == 200     # from anywhere: asks the channel
    shortcut = sw.slack.wait_for(lambda: len(sw.slack.calls("views.open")) == 2 and list(sw.slack.state.views.values())[-1])
    assert shortcut["blocks"][0]["block_id"] == "channel" and shortcut["callback_id"] == "release_start"
