"""Bad input gets a clear answer and changes nothing: signatures, permissions, spent buttons,
and Slack's own failures (429/500) delay but never lose an update."""
from __future__ import annotations

import time

import pytest

from bot.domain.model import Phase
from sandbox.seed import apps_yaml
from sandbox.slack import signature_headers, slash_command_body
from tests.kit.wait import wait_until
from tests.kit.slack import CHANNEL, SECRET, start_slack_world, stop_slack_world


def guarded_apps(**user_overrides) -> dict:
    doc = apps_yaml()
    doc["apps"]["user"].update(user_overrides)
    return doc


@pytest.fixture
def make_sw(sandbox, kube, redis_client, redis_url, tmp_path):
    made = []

    def make(apps_doc=None, groups=None):
        sw = start_slack_world(sandbox, kube, redis_client, tmp_path, apps_doc, groups)
        made.append(sw)
        return sw
    yield make
    for sw in made:
        stop_slack_world(sw)


def test_forged_signature_and_stale_timestamp_get_401_and_change_nothing(make_sw, redis_client):
    sw = make_sw()
    body = slash_command_body("canary user-v2 10%", "U0ALICE")
    forged = signature_headers("not-the-secret", body)
    assert sw.post(body, forged).status == 401
    stale = signature_headers(SECRET, body, timestamp=int(time.time()) - 301)
    assert sw.post(body, stale).status == 401
    assert sw.post(body, {}).status == 401
    # Bolt refuses before any listener runs, so nothing was queued; a signed request answered
    # right after proves the bot was listening all along
    helped = sw.post(slash_command_body("help", "U0ALICE"))
    assert helped.status == 200 and "graybot moves an app" in helped.data.decode()
    state = [k for k in redis_client.keys("graybot:*") if not k.startswith("graybot:leader")]
    assert state == [] and sw.slack.calls("chat.postMessage") == []
    assert sw.world.kube.deployment("default", "user-v2") is None


def test_unauthorized_approver_is_refused_ephemerally_and_audited(make_sw):
    sw = make_sw(guarded_apps(approvers=["U0BOB", "S0RELEASE"]), groups={"S0RELEASE": ["U0CAROL"]})
    sw.command("canary user-v2 10%")
    sw.wait_buttons("approve", "pause", "rollback")
    before = sw.world.store.active_for("user")
    sw.click("approve", user="U0MALLORY")
    refusal = sw.slack.wait_for(lambda: sw.ephemeral_texts("U0MALLORY"))
    assert "<@U0MALLORY> is not an approver of user" in refusal[0]
    after = sw.world.store.active_for("user")
    assert (after.version, after.stage, after.phase) == (before.version, 0, Phase.WAITING)
    assert sw.world.replicas("user-v2") == 1
    audit = sw.world.store.audit(before.id)
    assert audit[-1]["actor"] == "U0MALLORY" and audit[-1]["action"] == "refused"
    sw.click("approve", user="U0CAROL")          # a member of the approver group may
    wait_until(lambda: sw.world.store.active_for("user").stage == 1)
    assert sw.slack.calls("usergroups.users.list")


def test_requester_cannot_approve_when_a_second_person_is_required(make_sw):
    sw = make_sw(guarded_apps(requester_can_approve=False))
    sw.command("canary user-v2 10%", user="U0ALICE")
    sw.wait_buttons("approve", "pause", "rollback")
    sw.click("approve", user="U0ALICE")
    refusal = sw.slack.wait_for(lambda: [t for t in sw.ephemeral_texts("U0ALICE") if "second person" in t])
    assert "cannot approve their own release" in refusal[0]
    assert sw.world.store.active_for("user").stage == 0 and sw.world.replicas("user-v2") == 1
    sw.command("approve user", user="U0ALICE")   # typed, same rule
    sw.slack.wait_for(lambda: len([t for t in sw.ephemeral_texts("U0ALICE") if "second person" in t]) == 2)
    assert sw.world.store.active_for("user").stage == 0


def test_double_click_makes_one_transition_and_tells_who_did_it(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%")
    msg = sw.wait_buttons("approve", "pause", "rollback")
    sw.click("approve", user="U0BOB", message=msg)
    wait_until(lambda: sw.world.store.active_for("user").stage == 1)
    sw.click("approve", user="U0CAROL", message=msg)           # the same, now spent, button
    refusal = sw.slack.wait_for(lambda: sw.ephemeral_texts("U0CAROL"))
    assert "already done: approve by U0BOB at" in refusal[0]
    release = sw.world.store.active_for("user")
    assert [e["action"] for e in sw.world.store.audit(release.id)].count("approve") == 1
    assert release.stage == 1


def test_channel_allow_list(make_sw, redis_client):
    sw = make_sw(guarded_apps(channels=["C0PROD"]))
    sw.command("canary user-v2 10%", channel=CHANNEL)
    refusal = sw.slack.wait_for(lambda: sw.ephemeral_texts("U0ALICE"))
    assert "user can be released only from <#C0PROD>" in refusal[0]
    assert redis_client.keys("graybot:release:*") == [] and sw.world.kube.deployment("default", "user-v2") is None


def test_rate_limited_update_is_delayed_not_lost(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%")
    sw.wait_buttons("approve", "pause", "rollback")
    sw.slack.fail("chat.update", status=429, retry_after=1, times=1)
    sw.slack.fail("chat.postMessage", status=500, times=2)
    sw.click("approve", user="U0BOB")
    wait_until(lambda: sw.buttons(sw.live_message()).get("approve", {}).get("text", {}).get("text")
               == "Approve 50%", timeout=30, message="update after 429")
    limited = [c for c in sw.slack.calls("chat.update") if c.status == 429]
    after = [c for c in sw.slack.calls("chat.update") if c.status == 200 and c.at >= limited[0].at]
    assert limited and after and after[0].at - limited[0].at >= 0.9       # Retry-After honoured
    sw.slack.wait_for(lambda: any("approved" in t for t in sw.thread_texts()))
    assert sw.world.store.active_for("user").stage == 1                    # never blocked the release


def test_a_request_lost_in_a_crash_is_told_to_its_sender(make_sw):
    sw = make_sw()
    sw.world.core.edge_state.inbox_add({"what": "/release approve user", "user": "U0ERIN", "channel": CHANNEL,
                              "app": "user", })
    sw.world.store.r.xadd("graybot:inbox", {"request": '{"what": "x", "user": "U0X", "channel": "C1"}',
                                            "at": str(time.time())})    # fresh: still being handled
    assert sw.bot.edge.recover_inbox(older_than=-1) == 2
    texts = sw.slack.wait_for(lambda: sw.ephemeral_texts("U0ERIN"))
    assert "graybot restarted while handling `/release approve user`" in texts[0]
    assert sw.world.core.edge_state.inbox_stale(-1) == []


@pytest.mark.parametrize("action", ["pause", "rollback"])
def test_outsiders_may_not_pause_or_roll_back(make_sw, action):
    sw = make_sw(guarded_apps(approvers=["U0BOB"]))
    sw.command("canary user-v2 10%", user="U0ALICE")
    sw.wait_buttons("approve", "pause", "rollback")
    before = sw.world.store.active_for("user")
    sw.click(action, user="U0MALLORY")
    refusal = sw.slack.wait_for(lambda: sw.ephemeral_texts("U0MALLORY"))
    assert f"may not {action} user: only its approvers or the requester can" in refusal[0]
    assert sw.world.store.active_for("user").version == before.version
    sw.click(action, user="U0ALICE")               # the requester may
    wait_until(lambda: sw.world.store.get(before.id).version > before.version)


def test_continue_past_a_held_gate_needs_an_approver(make_sw):
    sw = make_sw(guarded_apps(approvers=["U0BOB"]))
    sw.command("canary user-broken 10% --no-auto-rollback", user="U0ALICE")
    sw.wait_buttons("continue", "rollback")
    held = sw.world.store.active_for("user")
    sw.click("continue", user="U0ALICE")           # the requester is not an approver here
    refusal = sw.slack.wait_for(lambda: [t for t in sw.ephemeral_texts("U0ALICE") if "not an approver" in t])
    assert refusal and sw.world.store.active_for("user").version == held.version


def test_a_forged_button_value_and_a_misplaced_continue_change_nothing(make_sw, redis_client):
    sw = make_sw()
    sw.command("canary user-v2 10%")
    msg = sw.wait_buttons("approve", "pause", "rollback")
    before = sw.world.store.active_for("user")
    from sandbox.slack import block_action_body
    sw.post(block_action_body("approve", "not-json", "U0ALICE", CHANNEL, msg["ts"]))
    sw.post(block_action_body("approve", '{"r":"nope","s":0,"v":1}', "U0ALICE", CHANNEL, msg["ts"]))
    sw.command("continue user")
    texts = sw.slack.wait_for(lambda: len(t := sw.ephemeral_texts("U0ALICE")) >= 3 and t)
    assert any("this button is not one of graybot's" in t for t in texts)
    assert any("that release no longer exists" in t for t in texts)
    assert any("is not held by a gate, so there is nothing to continue past (it is waiting)" in t for t in texts)
    assert sw.world.store.active_for("user").version == before.version
