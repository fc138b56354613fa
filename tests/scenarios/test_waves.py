"""One release, cluster by cluster: two sandbox clusters (staging, prod) in one kubeconfig, graybot
in HTTP mode with signed Slack requests. A two-wave canary goes 10 -> 100 in staging, waits for
the wave's approval with prod untouched (no write reached prod's API server), then 10 -> 100 in
prod; a broken image fails in staging and prod is never touched; rollback --all-waves undoes
prod, then staging."""
from __future__ import annotations

import json

import pytest

from bot.domain.model import Phase, WaveState
from sandbox.slack import block_action_body
from tests.kit.clusters import at, slack_over_two
from tests.kit.slack import CHANNEL, stop_slack_world
from tests.kit.wait import wait_until


@pytest.fixture
def sw(sandbox, prod, redis_client, tmp_path):
    world = slack_over_two(sandbox, prod, redis_client, tmp_path)
    yield world
    stop_slack_world(world)


def resting(sw, wave: int, stage: int, phase=Phase.WAITING):
    return at(sw.world.store, "user", wave, stage, phase)


def to_the_wave_gate(sw, line: str = "canary user-v2 --steps 50,100"):
    """Start a two-stage canary and approve staging to 100%: it waits at the wave gate."""
    sw.command(line)
    resting(sw, 0, 0)
    click(sw, "approve")
    return resting(sw, 0, 1)


def click(sw, action: str, user: str = "U0ALICE"):
    """Click a button of the live message once it shows the release's current state."""
    def button():
        msg = sw.live_message()
        values = {e["action_id"]: e for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]}
        release = sw.world.store.active_for("user")
        return action in values and release and json.loads(values[action]["value"])["v"] == release.version \
            and (values[action], msg)
    element, msg = wait_until(button, timeout=20, message=f"{action} button")
    assert sw.post(block_action_body(action, element["value"], user, CHANNEL, msg["ts"])).status == 200
    return element


def message_text(msg: dict) -> str:
    return json.dumps(msg["blocks"], ensure_ascii=False)


def test_a_two_wave_canary_finishes_staging_waits_then_runs_prod(sw):
    both = sw.both
    assert sw.command("canary user-v2 10%").status == 200
    resting(sw, 0, 0)
    assert (both.replicas("staging", "user-v2"), both.replicas("staging", "user-v1")) == (1, 9)
    for stage in (1, 2, 3):
        click(sw, "approve")
        if stage < 3:
            resting(sw, 0, stage)
    gate = resting(sw, 0, 3)                                      # staging at 100%: the wave gate
    assert gate.waves[0].state == WaveState.DONE and gate.waves[1].state == WaveState.PENDING
    assert both.ready("staging", "user-v2") == 10
    assert both.prod.server.writes == []                          # prod: not one write so far
    assert both.ready("prod", "user-v1") == 10 and both.replicas("prod", "user-v2") is None
    button = click(sw, "approve")                                 # the wave's approval
    assert button["text"]["text"] == "Approve wave prod"
    resting(sw, 1, 0)
    assert (both.replicas("prod", "user-v2"), both.replicas("prod", "user-v1")) == (1, 9)
    assert both.replicas("staging", "user-v2") == 10               # staging stays on v2
    message = sw.live_message()
    text = message_text(message)
    assert "wave 1 *staging* · done" in text and "wave 2 *prod* · stage 1/4 10%" in text
    for stage in (1, 2, 3):
        click(sw, "approve")
        if stage < 3:
            resting(sw, 1, stage)
    done = wait_until(lambda: (h := sw.world.store.history("user")) and h[0].phase == Phase.SUCCEEDED and h[0],
                      timeout=40, message="user succeeded")
    assert [w.state for w in done.waves] == [WaveState.DONE, WaveState.DONE]
    for cluster in ("staging", "prod"):
        wait_until(lambda: both.replicas(cluster, "user-v1") is None, message=f"user-v1 retired in {cluster}")
        assert both.replicas(cluster, "user-v2") == 10
    # the thread's replies are posted after the saves they tell of: the last one may still be on its way
    thread = wait_until(lambda: (t := sw.thread_texts()) and any(
        x.startswith("[prod]") and "serves everything in staging, prod" in x for x in t) and t,
        timeout=10, message="the release's last thread reply")
    assert any(t.startswith("[staging]") and "wave *staging* done" in t for t in thread), thread
    assert any(t.startswith("[prod]") and "approved the *prod* wave" in t for t in thread), thread


def test_a_broken_image_fails_in_staging_and_prod_is_never_touched(sw):
    both = sw.both
    assert sw.command("canary user-broken 50%").status == 200
    done = wait_until(lambda: (h := sw.world.store.history("user")) and h[0], timeout=60,
                      message="user rolled back")
    assert done.phase == Phase.ROLLED_BACK and done.wave == 0
    assert [w.state for w in done.waves] == [WaveState.ROLLED_BACK, WaveState.PENDING]
    assert both.replicas("staging", "user-v1") == 10
    wait_until(lambda: both.replicas("staging", "user-broken") is None, message="broken deleted in staging")
    assert both.prod.server.writes == []
    assert both.replicas("prod", "user-broken") is None and both.ready("prod", "user-v1") == 10


def test_rollback_all_waves_undoes_prod_then_staging(sw):
    both = sw.both
    to_the_wave_gate(sw)
    click(sw, "approve")                                           # into prod
    resting(sw, 1, 0)
    assert both.replicas("prod", "user-v2") == 5
    assert sw.command("rollback user --cluster staging").status == 200    # the current wave is prod
    said = wait_until(lambda: [t for t in sw.ephemeral_texts("U0ALICE") if "wave" in t], timeout=10,
                      message="the refusal")
    assert "the prod wave of" in said[-1] and "the staging wave is done" in said[-1]
    assert sw.world.store.active_for("user").phase == Phase.WAITING
    sw.command("rollback user --all-waves")
    done = wait_until(lambda: (h := sw.world.store.history("user")) and h[0], timeout=60,
                      message="user rolled back in both")
    assert done.phase == Phase.ROLLED_BACK
    assert [w.state for w in done.waves] == [WaveState.ROLLED_BACK, WaveState.ROLLED_BACK]
    for cluster in ("staging", "prod"):
        wait_until(lambda: both.replicas(cluster, "user-v2") is None, message=f"v2 gone from {cluster}")
        assert both.replicas(cluster, "user-v1") == 10


def test_wave_every_starts_the_next_wave_by_itself(sw):
    both = sw.both
    gate = to_the_wave_gate(sw, "canary user-v2 --steps 50,100 --wave-every 2s")
    assert gate.runtime.next_at > gate.updated_at          # the timer of the prod wave
    timer = wait_until(lambda: "*prod wave* goes at" in message_text(sw.live_message()) and sw.live_message(),
                       timeout=10, message="the timer in the live message")
    assert "Approve wave prod" in message_text(timer)          # a person may still go first
    moved = resting(sw, 1, 0)
    approvals = [e["actor"] for e in sw.world.store.audit(moved.id) if e["action"] == "approve"]
    assert approvals == ["U0ALICE", "scheduler"]              # the timer approved the prod wave
    assert both.replicas("prod", "user-v2") == 5


def test_rollback_in_prod_keeps_staging_on_the_new_version_and_retires_its_old(sw):
    both = sw.both
    to_the_wave_gate(sw)
    sw.command("approve user --full")                             # at the wave gate: said, not done
    said = wait_until(lambda: [t for t in sw.ephemeral_texts("U0ALICE") if "plain approve starts" in t],
                      timeout=10, message="the --full refusal")
    assert "the staging wave is done; plain approve starts the prod wave" in said[-1]
    click(sw, "approve")
    resting(sw, 1, 0)
    click(sw, "rollback")
    done = wait_until(lambda: (h := sw.world.store.history("user")) and h[0], timeout=60, message="rolled back")
    assert done.phase == Phase.ROLLED_BACK
    assert [w.state for w in done.waves] == [WaveState.DONE, WaveState.ROLLED_BACK]
    wait_until(lambda: both.replicas("staging", "user-v1") is None, message="v1 retired in staging")
    assert both.replicas("staging", "user-v2") == 10
    wait_until(lambda: both.replicas("prod", "user-v2") is None, message="v2 gone from prod")
    assert both.replicas("prod", "user-v1") == 10


def test_the_prod_wave_is_approved_by_prods_approvers(sandbox, prod, redis_client, tmp_path):
    sw = slack_over_two(sandbox, prod, redis_client, tmp_path,
                        user={"clusters": {"staging": {}, "prod": {"approvers": ["U0SRE"]}}})
    both = sw.both
    try:
        to_the_wave_gate(sw)                                   # staging: anyone may (no approvers)
        click(sw, "approve")                                   # the prod wave: alice may not
        said = wait_until(lambda: [t for t in sw.ephemeral_texts("U0ALICE") if "not an approver" in t],
                          timeout=10, message="the refusal")
        assert "is not an approver of user" in said[-1] and "U0SRE" in said[-1]
        assert sw.world.store.active_for("user").wave == 0 and prod.server.writes == []
        click(sw, "approve", user="U0SRE")
        resting(sw, 1, 0)
        assert both.replicas("prod", "user-v2") == 5
        sw.command("rollback user")
        wait_until(lambda: sw.world.store.active_for("user") is None, timeout=60, message="rolled back")
        writes = len(prod.server.writes)
        sw.command("canary user-v3 --cluster prod")           # starting in prod: prod's approvers only
        said = wait_until(lambda: [t for t in sw.ephemeral_texts("U0ALICE") if "may not start" in t],
                          timeout=10, message="the start refusal")
        assert "may not start user in prod: its first stage there is approved by" in said[-1]
        assert sw.world.store.active_for("user") is None and len(prod.server.writes) == writes
    finally:
        stop_slack_world(sw)


def test_the_next_wave_is_planned_again_from_its_cluster_as_it_is_when_it_starts(sw):
    both = sw.both
    sw.command("canary user-v2 --steps 50,100")
    first = resting(sw, 0, 0)
    assert first.waves[1].replicas == 10 and first.waves[1].stages[0].new_replicas == 5
    both.kube("prod").scale("default", "user-v1", 4)               # prod shrank meanwhile (an HPA, a person)
    wait_until(lambda: both.ready("prod", "user-v1") == 4, message="prod at 4")
    click(sw, "approve")
    resting(sw, 0, 1)
    click(sw, "approve")
    moved = resting(sw, 1, 0)
    assert moved.replicas == 4 and moved.stages[0].new_replicas == 2
    assert (both.replicas("prod", "user-v2"), both.replicas("prod", "user-v1")) == (2, 2)


def test_a_timed_wave_that_can_no_longer_start_pauses_and_says_why(sw):
    both = sw.both
    sw.command("canary user-v2 --steps 50,100 --wave-every 2s")
    resting(sw, 0, 0)
    both.kube("prod").scale("default", "user-v1", 0)                # nothing serves user in prod now
    click(sw, "approve")
    held = wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.PAUSED and r,
                      timeout=20, message="paused at the wave gate")
    assert held.wave == 0 and held.reason.startswith("the prod wave cannot start: prod: no running Deployment")
    assert both.replicas("prod", "user-v2") is None
