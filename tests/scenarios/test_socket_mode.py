"""`graybot socket` as its own process against the fake Slack's Socket Mode server, over a real
WebSocket on the loopback: the same scenarios as HTTP mode, plus what only a socket has
(acks carrying the reply, disconnect and reconnect, envelopes delivered twice)."""
from __future__ import annotations

import pytest

from bot.domain.model import Phase
from sandbox.seed import apps_yaml
from sandbox.slack import FakeSlack, block_action_payload, slash_command_payload
from tests.kit.processes import CHANNEL, Bots
from tests.kit.wait import wait_until
from tests.kit.world import NS, demo_world

LEAD, OTHER = "U0LEAD", "U0OTHER"


@pytest.fixture
def bots(sandbox, kube, redis_client, redis_url, tmp_path):
    slack = FakeSlack(socket_mode=True).start()
    doc = apps_yaml()
    doc["apps"]["user"]["approvers"] = [LEAD]
    world = demo_world(sandbox, kube, redis_client, tmp_path, doc)
    b = Bots(world, slack, redis_url, tmp_path)
    b.start("socket")
    slack.socket.wait_connected(1)
    yield b
    b.stop_all()
    slack.stop()


def command(b: Bots, text: str, user: str = LEAD):
    envelope = b.slack.socket.send("slash_commands", slash_command_payload(text, user))
    return b.slack.socket.wait_ack(envelope, timeout=3)        # Slack's 3 s


def click(b: Bots, release, action: str, user: str = LEAD):
    value, ts = b.button(release, action)
    envelope = b.slack.socket.send("interactive", block_action_payload(action, value, user, CHANNEL, ts))
    return b.slack.socket.wait_ack(envelope, timeout=3)


def active(b: Bots, stage_weight: int | None = None):
    def ready():
        r = b.world.store.active_for("user")
        return r if r and r.phase == Phase.WAITING and stage_weight in (None, r.current.weight) else None
    return wait_until(ready, timeout=30, message=f"user waiting at {stage_weight}%")


def test_a_canary_goes_10_to_100_by_clicks_over_the_socket(bots):
    b = bots
    ack = command(b, "canary user-v2 10%")
    assert "/release canary user-v2 10%" in ack.ack_payload["text"]      # the reply rides in the ack
    r = active(b, 10)
    for weight in (30, 50, 100):
        click(b, r, "approve")
        r = active(b, weight) if weight < 100 else r
    click(b, r, "approve")
    done = wait_until(lambda: (h := b.world.store.history("user")) and h[0].phase == Phase.SUCCEEDED and h[0],
                      timeout=30, message="succeeded")
    assert done.to_version == "v2" and b.world.kube.deployment(NS, "user-v1") is None
    assert b.world.replicas("user-v2") == 10
    where = b.world.core.edge_state.message(done.id)
    live = lambda: next(m for m in b.slack.channel(CHANNEL) if m["ts"] == where[1])  # noqa: E731
    wait_until(lambda: "succeeded" in live()["text"].lower(), timeout=20, message="live message updated")


def test_a_usage_error_is_answered_in_the_ack_and_changes_nothing(bots):
    ack = command(bots, "canary user-v2 150%")
    assert "Usage:" in ack.ack_payload["text"] and "150" in ack.ack_payload["text"]
    assert bots.world.store.active_for("user") is None
    assert bots.world.replicas("user-v1") == 10 and bots.world.kube.deployment(NS, "user-v2") is None


def test_a_click_from_someone_not_allowed_is_refused(bots):
    b = bots
    command(b, "canary user-v2 10%")
    r = active(b, 10)
    click(b, r, "approve", user=OTHER)
    refusal = wait_until(lambda: b.slack.ephemerals(OTHER), timeout=10, message="refusal")
    assert "not" in refusal[-1]["text"].lower() and "approve" in refusal[-1]["text"].lower()
    assert b.world.store.get(r.id).current.weight == 10 and b.world.store.get(r.id).version == r.version


def test_disconnect_then_reconnect_loses_nothing_and_handles_nothing_twice(bots):
    b = bots
    start = command(b, "canary user-v2 10%")
    r = active(b, 10)
    b.slack.socket.redeliver(start)                    # Slack retries the command: acked, not run again
    assert b.slack.socket.wait_ack(start, timeout=3).ack_payload is None
    value, ts = b.button(r, "approve")
    b.slack.socket.disconnect("refresh_requested")
    # sent while no connection is open: Slack keeps it and delivers it on the next connection
    pending = b.slack.socket.send("interactive", block_action_payload("approve", value, LEAD, CHANNEL, ts))
    b.slack.socket.wait_connected(2)
    b.slack.socket.wait_ack(pending, timeout=10)
    r = active(b, 30)
    b.slack.socket.redeliver(pending)                  # the same envelope again (a retry)
    b.slack.socket.wait_ack(pending, timeout=3)
    b.slack.socket.disconnect("warning")
    b.slack.socket.wait_connected(3)
    click(b, r, "approve")                             # the socket still works after a warning
    r = active(b, 50)
    approvals = [e for e in b.world.store.audit(r.id) if e["action"] == "approve"]
    assert len(approvals) == 2                         # 10 -> 30 -> 50: the retry was not carried out
    assert [x.id for x in b.world.store.active()] == [r.id] and not b.slack.ephemerals(LEAD)


def test_healthz_is_served_in_socket_mode(bots):
    resp = bots.http.request("GET", bots.url + "/healthz", timeout=2)
    assert resp.status == 200 and b'"redis": true' in resp.data


def test_socket_mode_serves_no_slack_events_over_http(bots):
    from sandbox.slack import signature_headers, slash_command_body
    from tests.kit.processes import SECRET

    body = slash_command_body("canary user-v2 10%", "U0ALICE")   # signed right: HTTP is just not the way in
    resp = bots.http.request("POST", bots.url + "/slack/events", body=body.encode(), timeout=2,
                             headers=dict(signature_headers(SECRET, body),
                                          **{"Content-Type": "application/x-www-form-urlencoded"}))
    assert resp.status == 404 and bots.world.store.active_for("user") is None
