"""Nothing waits forever: the sandbox's API server hangs every request for one app's Deployments;
that release reports the cluster timeout in its thread and waits, while another app's canary goes
from its first stage to 100% unaffected; when the API answers again the first release goes on."""
from __future__ import annotations

import json
import time

import pytest

from bot.domain.model import Phase
from sandbox.slack import block_action_body
from tests.kit.slack import CHANNEL, start_slack_world, stop_slack_world
from tests.kit.wait import wait_until


@pytest.fixture
def sw(sandbox, kube, redis_client, tmp_path):
    world = start_slack_world(sandbox, kube, redis_client, tmp_path, kube_read_timeout=1.0)
    yield world
    stop_slack_world(world)


def waiting(sw, app: str, stage: int):
    return wait_until(lambda: (r := sw.world.store.active_for(app)) and r.phase == Phase.WAITING
                      and r.stage == stage and r, timeout=40, message=f"{app} waiting at stage {stage}")


def message_of(sw, release) -> dict:
    def found():
        where = sw.world.core.edge_state.message(release.id)
        return where and next((m for m in sw.slack.channel(CHANNEL) if m["ts"] == where[1]), None)
    return wait_until(found, timeout=20, message=f"{release.app}'s live message")


def click(sw, release, action: str) -> None:
    def button():
        msg = message_of(sw, release)
        values = {e["action_id"]: e["value"] for b in msg["blocks"] if b["type"] == "actions"
                  for e in b["elements"]}
        return action in values and json.loads(values[action])["v"] == sw.world.store.get(release.id).version \
            and (values[action], msg["ts"])
    value, ts = wait_until(button, timeout=20, message=f"{release.app}'s {action} button")
    assert sw.post(block_action_body(action, value, "U0ALICE", CHANNEL, ts)).status == 200


def thread_of(sw, release) -> list[str]:
    return [m["text"] for m in sw.slack.thread(CHANNEL, message_of(sw, release)["ts"])]


def test_a_hung_deployment_holds_up_only_its_own_release(sw, sandbox):
    sw.command("canary pay-v2 30%")
    sw.command("canary user-v2 10%")
    pay, user = waiting(sw, "pay", 0), waiting(sw, "user", 0)
    stall = sandbox.hang("/deployments/pay")            # every read and write of pay's Deployments
    try:
        click(sw, pay, "approve")
        told = sw.slack.wait_for(lambda: any("the cluster did not answer" in t for t in thread_of(sw, pay)),
                                 timeout=20)
        assert told
        started = time.monotonic()
        for stage in (1, 2, 3):
            click(sw, user, "approve")
            user = waiting(sw, "user", stage) if stage < 3 else None
        done = wait_until(lambda: (h := sw.world.store.history("user")) and h[0].phase == Phase.SUCCEEDED
                          and h[0], timeout=40, message="user at 100%")
        assert done.phase == Phase.SUCCEEDED and sw.world.replicas("user-v1") is None
        assert time.monotonic() - started < 30
        stuck = sw.world.store.active_for("pay")
        assert (stuck.phase, stuck.stage) == (Phase.PROGRESSING, 1)        # waiting for its cluster
        timeout_lines = [t for t in thread_of(sw, pay) if "the cluster did not answer" in t]
        assert len(timeout_lines) == 1 and "did not answer within 1s" in timeout_lines[0]
        health = json.loads(sw.http.request("GET", sw.url + "/healthz").data)
        assert health["ok"] is True
        click(sw, pay, "rollback")              # accepted while its cluster hangs ...
        wait_until(lambda: sw.world.store.get(pay.id).phase == Phase.ROLLING_BACK, timeout=20,
                   message="rollback saved")
    finally:
        stall.release()
    done = wait_until(lambda: (h := sw.world.store.history("pay")) and h[0], timeout=40)   # ... and carried out
    assert done.phase == Phase.ROLLED_BACK and sw.world.replicas("pay-v1") == 3
    assert sw.world.kube.deployment("default", "pay-v2") is None


def test_rejected_credentials_pause_the_release_once_and_show_in_healthz(sw, sandbox):
    sw.command("canary user-v2 10%")
    sw.wait_buttons("approve", "pause", "rollback")
    sandbox.server.credentials_revoked = True           # graybot's token revoked: 401 (the /version probe answers)
    try:
        sw.command("approve user")
        held = wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.PAUSED and r,
                          timeout=20, message="paused for rejected credentials")
        assert "rejected graybot's credentials (401 Unauthorized)" in held.reason and held.last_actor == "graybot"
        health = json.loads(sw.http.request("GET", sw.url + "/healthz").data)
        assert health["credentials_rejected"] and health["degraded"] is True
        errors = [e for e in sw.world.store.audit(held.id) if e["action"] == "cluster_error"]
        assert len(errors) == 1                              # said once, not once per retry
    finally:
        sandbox.server.credentials_revoked = False
    sw.command("resume user")                                # fixed: a person goes on
    wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.WAITING and r.stage == 1,
               timeout=30, message="30% reached after the fix")
