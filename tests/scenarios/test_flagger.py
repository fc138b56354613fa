"""graybot as the gates of a Flagger Canary, through signed Slack requests against the sandbox
(whose Flagger loop POSTs its webhooks to graybot's HTTP port): the promotion waits for Approve,
the gate is for that revision only, Rollback opens the rollback gate and Flagger rolls back, a
gate survives graybot's SIGKILL, and requests without the app's token change nothing."""
from __future__ import annotations

import json

import pytest
import urllib3

from bot.adapters.flaggergates import FlaggerGates, place
from bot.domain.model import Phase
from sandbox.flagger import checksum
from sandbox.seed import apps_yaml, flagger_entry, seed_flagger
from sandbox.slack import block_action_body, slash_command_body
from tests.kit.processes import CHANNEL, Bots
from tests.kit.slack import start_slack_world, stop_slack_world
from tests.kit.wait import free_port, wait_until
from tests.kit.world import demo_world

NS, TOKEN = "default", "flagger-gate-token-0123"


@pytest.fixture
def sw(sandbox, kube, redis_client, tmp_path, monkeypatch):
    """graybot over the sandbox with `wallet`, a Deployment of 4 pods a Flagger Canary releases (weights
    25, 50, then promotion; interval 1 s), healthy at v1, its webhooks pointing at graybot."""
    monkeypatch.setenv("FLAGGER_GATE_TOKEN", TOKEN)
    doc = apps_yaml()
    doc["apps"]["wallet"] = dict(flagger_entry(), approvers=["U0ALICE"])
    world = start_slack_world(sandbox, kube, redis_client, tmp_path, doc)
    seed_flagger(sandbox.store, world.url, TOKEN)
    wait_until(lambda: canary(world).get("phase") == "Initialized", timeout=20, message="wallet initialised")
    yield world
    stop_slack_world(world)


def canary(sw) -> dict:
    return (sw.world.kube.flagger_canary(NS, "wallet") or {}).get("status") or {}


def pods(sw) -> tuple[dict, dict]:
    """The primary's pods and the target's, by image."""
    return sw.world.pods_by_image("wallet-primary"), sw.world.pods_by_image("wallet")


def ask(url: str, hook: str, body: dict, token: str = TOKEN):
    """A request as Flagger's webhook client makes it."""
    return urllib3.request("POST", f"{url}/flagger/gates/{hook}?token={token}", body=json.dumps(body).encode(),
                           headers={"Content-Type": "application/json"}, timeout=5, retries=False)


def payload(status: dict) -> dict:
    return {"name": "wallet", "namespace": NS, "phase": "Progressing", "checksum": checksum(status), "metadata": {}}


def finished(sw, phase: Phase):
    return wait_until(lambda: (h := sw.world.store.history("wallet")) and h[0].phase == phase and h[0],
                      timeout=60, message=f"wallet {phase}")


def test_the_promotion_waits_for_approve_and_a_new_revision_waits_again(sw):
    sw.command("canary wallet-v2")
    waiting = wait_until(lambda: (s := canary(sw)).get("phase") == "WaitingPromotion" and s, timeout=30,
                         message="Flagger waits at confirm-promotion")
    assert waiting["canaryWeight"] == 50                 # 25, then 50: the machine's gates were open
    wait_until(lambda: "approve" in sw.buttons(sw.live_message()), timeout=20, message="Approve shown")
    assert "*Flagger Canary* WaitingPromotion" in str(sw.live_message()["blocks"])
    wait_until(lambda: pods(sw) == ({"nginx:wallet-v1": 4}, {"nginx:wallet-v2": 4}), timeout=20,
               message="the primary's 4 v1 pods beside the target's 4 v2 ones")
    assert ask(sw.url, "confirm-promotion", payload(waiting)).status == 403          # closed until a person acts
    sw.click("approve", user="U0ALICE")
    done = finished(sw, Phase.SUCCEEDED)
    assert canary(sw)["phase"] == "Succeeded" and canary(sw)["lastPromotedSpec"] == waiting["lastAppliedSpec"]
    wait_until(lambda: pods(sw) == ({"nginx:wallet-v2": 4}, {}), timeout=30, message="all v2, target at 0")
    assert [e["action"] for e in sw.world.store.audit(done.id)].count("approve") == 1

    sw.command("canary wallet-v3")                          # the next revision: the v2 approval does not open it
    again = wait_until(lambda: (s := canary(sw)).get("phase") == "WaitingPromotion" and s, timeout=30,
                       message="v3 waits at confirm-promotion too")
    assert again["lastAppliedSpec"] != waiting["lastAppliedSpec"]
    assert ask(sw.url, "confirm-promotion", payload(again)).status == 403
    assert ask(sw.url, "confirm-promotion", payload(waiting)).status == 200          # v2's gate: still v2's only
    newest = wait_until(lambda: (m := [m for m in sw.slack.channel(CHANNEL) if "thread_ts" not in m][-1:]) and
                        "rollback" in sw.buttons(m[0]) and "wallet-v3" in str(m[0]) and m[0],
                        timeout=20, message="v3's live message")
    sw.click("rollback", user="U0ALICE", message=newest)
    finished(sw, Phase.ROLLED_BACK)
    status = canary(sw)
    assert status["phase"] == "Failed" and status["canaryWeight"] == 0
    assert "manual webhook" in status["conditions"][0]["message"]
    wait_until(lambda: pods(sw) == ({"nginx:wallet-v2": 4}, {}), timeout=30,
               message="the canary scaled to zero, the primary still v2")


def test_a_freeze_closes_the_machine_gates_and_a_failed_analysis_rolls_the_release_back(sw, sandbox):
    sw.command("canary wallet-errors")
    try:
        started = wait_until(lambda: (s := canary(sw)).get("canaryWeight") == 25 and s, timeout=45,
                             message="the first traffic increase")
    except AssertionError:          # say where it stood: Flagger's status, its calls, graybot's release
        release = sw.world.store.active_for("wallet") or next(iter(sw.world.store.history("wallet", 1)), None)
        calls = [(kind, sent["phase"], code) for kind, _url, sent, code in list(sandbox.flagger.calls)[-6:]]
        raise AssertionError(f"no first increase: canary {canary(sw)}; release "
                             f"{release and (release.phase, release.reason)}; {calls}") from None
    assert ask(sw.url, "confirm-traffic-increase", payload(started)).status == 200      # the release runs
    sw.command('freeze wallet for 1h "incident"')
    refused = wait_until(lambda: (r := ask(sw.url, "confirm-traffic-increase", payload(started))).status == 403
                         and r, timeout=20, message="the machine's gate closed by the freeze")
    assert refused.data.decode().startswith("wallet is frozen: frozen by U0ALICE (incident)")
    done = finished(sw, Phase.ROLLED_BACK)           # Flagger's own threshold of failed checks
    assert "Flagger rolled the canary back: Canary analysis failed" in done.reason
    assert (canary(sw)["phase"], canary(sw)["canaryWeight"]) == ("Failed", 0)
    wait_until(lambda: pods(sw) == ({"nginx:wallet-v1": 4}, {}), timeout=30, message="the canary at zero")


def test_requests_without_the_token_or_for_unknown_canaries_change_nothing(sw, redis_client):
    status = canary(sw)
    before = sorted(redis_client.keys("graybot:flagger*"))
    for hook, body, token in (("confirm-promotion", payload(status), "wrong-token"),
                              ("confirm-promotion", dict(payload(status), name="other"), TOKEN),
                              ("rollback", dict(payload(status), namespace="prod"), TOKEN)):
        resp = ask(sw.url, hook, body, token)
        assert (resp.status, resp.data) == (403, b"unknown canary or wrong token")
    assert ask(sw.url, "open-everything", payload(status)).status == 404
    assert ask(sw.url, "rollback", {"name": "wallet"}).status == 400
    assert sorted(redis_client.keys("graybot:flagger*")) == before


def test_an_approved_gate_outlives_a_sigkill_of_graybot(sandbox, kube, redis_client, redis_url, tmp_path):
    from sandbox.slack import FakeSlack

    slack = FakeSlack().start()
    doc = apps_yaml()
    doc["apps"]["wallet"] = dict(flagger_entry(), approvers=["U0ALICE"])
    world = demo_world(sandbox, kube, redis_client, tmp_path, doc)
    b = Bots(world, slack, redis_url, tmp_path)
    b.env["FLAGGER_GATE_TOKEN"] = TOKEN
    port = free_port()
    try:
        b.start(port=port)
        seed_flagger(sandbox.store, b.url, TOKEN)
        wait_until(lambda: canary(b).get("phase") == "Initialized", timeout=20, message="wallet initialised")
        assert b.post(slash_command_body("canary wallet-v2", "U0ALICE")).status == 200
        release = wait_until(lambda: (r := world.store.active_for("wallet")) and r.phase == Phase.WAITING and r,
                             timeout=40, message="wallet waiting at confirm-promotion")
        suspend(sandbox, True)                  # Flagger stops asking: the gate must wait across the kill
        value, ts = b.button(release, "approve")
        assert b.post(block_action_body("approve", value, "U0ALICE", CHANNEL, ts)).status == 200
        gates, where = FlaggerGates(redis_client), place("default", NS, "wallet")
        asked = gates.asked(where)["confirm-promotion"]
        wait_until(lambda: gates.is_open(where, asked.checksum, "confirm-promotion"), timeout=20,
                   message="the promotion gate opened")
        b.kill()
        b.start(port=port)
        suspend(sandbox, False)
        wait_until(lambda: (h := world.store.history("wallet")) and h[0].phase == Phase.SUCCEEDED, timeout=60,
                   message="promoted after the restart")
        assert canary(b)["phase"] == "Succeeded"
    finally:
        b.stop_all()
        slack.stop()


def suspend(sandbox, on: bool) -> None:
    """What `kubectl patch canary wallet --type merge -p '{"spec":{"suspend":true}}'` does."""
    from sandbox.objstore import clone

    with sandbox.store.lock:
        cd = clone(sandbox.store.get(("flagger.app", "canaries"), NS, "wallet"))
        cd["spec"]["suspend"] = on
        sandbox.store.update(("flagger.app", "canaries"), cd)
