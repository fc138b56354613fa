"""graybot as the chat front end of Argo Rollouts, through signed Slack requests against the
sandbox (whose controller runs the Rollout's steps), real Redis and the fake Slack: the
Rollout's own steps, its pause approved from Slack as `kubectl argo rollouts promote` writes it,
Rollback as an abort and a new start as a retry, the release policy on the pauses (approvers,
two approvals, a freeze), and the controller's own abort after a failed analysis."""
from __future__ import annotations

import pytest

from bot.domain.model import Phase
from sandbox.seed import apps_yaml, seed_rollout
from tests.kit.slack import ephemeral_ack, start_slack_world, stop_slack_world
from tests.kit.wait import wait_until

NS = "default"


def world_with_rollout(sandbox, kube, redis_client, tmp_path, steps=None, **rules):
    doc = apps_yaml()
    doc["apps"]["shop"] = dict(seed_rollout(sandbox.store, steps=steps), approvers=["U0ALICE", "U0BOB"], **rules)
    sw = start_slack_world(sandbox, kube, redis_client, tmp_path, doc)
    wait_until(lambda: status(sw).get("phase") == "Healthy", timeout=30, message="the Rollout healthy at v1")
    return sw


@pytest.fixture
def sw(sandbox, kube, redis_client, tmp_path):
    world = world_with_rollout(sandbox, kube, redis_client, tmp_path)
    yield world
    stop_slack_world(world)


def rollout(sw) -> dict:
    return sw.world.kube.rollout(NS, "shop")


def status(sw) -> dict:
    return rollout(sw).get("status") or {}


def paused_at_step_2(sw) -> dict:
    return wait_until(lambda: (s := status(sw)).get("currentStepIndex") == 1 and s.get("pauseConditions") and s,
                      timeout=30, message="the Rollout paused at its step 2")


def finished(sw, phase: Phase):
    return wait_until(lambda: (h := sw.world.store.history("shop")) and h[0].phase == phase and h[0],
                      timeout=60, message=f"the release {phase.value}")


def text_of(message: dict) -> str:
    return str(message["blocks"])


def test_the_rollout_pauses_at_20_percent_and_an_approval_promotes_it_to_100(sw):
    assert "/release canary shop-v2" in ephemeral_ack(sw.command("canary shop-v2"))
    msg = sw.wait_buttons("approve", "pause", "rollback")
    paused_at_step_2(sw)
    wait_until(lambda: sw.world.pods_by_image("shop") == {"nginx:shop-v2": 2, "nginx:shop-v1": 8}, timeout=20,
               message="20% of the pods on v2")            # the stable's scale-down lands a tick later
    assert msg["blocks"][0]["text"]["text"] == "shop: Rollout steps v1 → v2"
    wait_until(lambda: "*Rollout* Paused · step 2/4 · canary weight 20%" in text_of(sw.live_message()),
               timeout=20, message="the controller's state in the live message")
    shown = text_of(sw.live_message())
    assert "step 1: setWeight 20" in shown and "step 2: pause (until promoted)" in shown and "step 4: pause 2s" in shown

    before = rollout(sw)["metadata"]["resourceVersion"]
    assert sw.click("approve", user="U0EVE").status == 200                    # not an approver
    told = wait_until(lambda: sw.ephemeral_texts("U0EVE"), timeout=20, message="the refusal")
    assert "approver" in told[-1] and rollout(sw)["metadata"]["resourceVersion"] == before

    assert sw.click("approve", user="U0BOB").status == 200
    done = finished(sw, Phase.SUCCEEDED)
    s = status(sw)
    assert s["phase"] == "Healthy" and s["stableRS"] == s["currentPodHash"]
    wait_until(lambda: sw.world.pods_by_image("shop") == {"nginx:shop-v2": 10}, timeout=20, message="all v2")
    actions = [(e["actor"], e["action"]) for e in sw.world.store.audit(done.id)]
    assert ("U0BOB", "approve") in actions and ("U0EVE", "refused") in actions
    assert [a for _, a in actions].count("approve") == 1        # the timed pause was the controller's own
    wait_until(lambda: not sw.buttons(sw.live_message()), timeout=20,   # the message follows the save
               message="no buttons on the finished release's message")


def test_rollback_aborts_the_rollout_and_starting_again_retries_it(sw):
    sw.command("canary shop-v2")
    sw.wait_buttons("approve", "pause", "rollback")
    paused_at_step_2(sw)
    assert sw.click("rollback", user="U0ALICE").status == 200
    finished(sw, Phase.ROLLED_BACK)
    s = status(sw)
    assert s["abort"] is True and s["phase"] == "Degraded" and s["message"].startswith("RolloutAborted")
    wait_until(lambda: sw.world.pods_by_image("shop") == {"nginx:shop-v1": 10}, timeout=30, message="v1 back")

    sw.command("canary shop-v2")                                  # the same version again: a retry
    paused_at_step_2(sw)
    assert not status(sw).get("abort")
    wait_until(lambda: sw.world.pods_by_image("shop") == {"nginx:shop-v2": 2, "nginx:shop-v1": 8}, timeout=30,
               message="the canary's 20% again")


def test_the_rollouts_own_steps_are_not_overridden(sw):
    said = ephemeral_ack(sw.command("canary shop-v2 30%"))
    wait_until(lambda: sw.ephemeral_texts("U0ALICE") or "drop" in said, timeout=20, message="the refusal")
    refusal = " ".join(sw.ephemeral_texts("U0ALICE")) + said
    assert "steps are its argo-rollout's own" in refusal and "drop a first weight or --steps" in refusal
    assert status(sw)["currentPodHash"] == status(sw)["stableRS"] and sw.world.store.active_for("shop") is None


def test_two_approvals_promote_the_pause(sandbox, kube, redis_client, tmp_path):
    sw = world_with_rollout(sandbox, kube, redis_client, tmp_path, approvals=2)
    try:
        sw.command("canary shop-v2")
        sw.wait_buttons("approve", "pause", "rollback")
        paused_at_step_2(sw)
        release = sw.world.store.active_for("shop")
        assert sw.click("approve", user="U0ALICE").status == 200
        wait_until(lambda: "vote" in [e["action"] for e in sw.world.store.audit(release.id)], timeout=20,
                   message="the first vote")
        assert paused_at_step_2(sw)                                   # one of two: still paused
        assert sw.click("approve", user="U0BOB").status == 200
        finished(sw, Phase.SUCCEEDED)
        wait_until(lambda: sw.world.pods_by_image("shop") == {"nginx:shop-v2": 10}, timeout=20, message="all v2")
    finally:
        stop_slack_world(sw)


def test_a_freeze_keeps_the_timer_from_promoting_and_refuses_a_new_image(sw):
    sw.command("canary shop-v2 --auto 6s")                        # a timer would promote the pause
    paused_at_step_2(sw)
    timed = sw.world.store.active_for("shop")
    sw.command('freeze shop for 1h "incident"')
    entry = wait_until(lambda: next((e for e in sw.world.store.audit(timed.id) if e["action"] == "schedule"
                                     and "frozen" in e["detail"]), None), timeout=30,
                       message="the timer held by the freeze")
    assert entry["actor"] == "scheduler" and paused_at_step_2(sw)
    assert sw.world.store.get(timed.id).phase == Phase.WAITING and sw.world.store.get(timed.id).stage == 0
    sw.command("rollback shop")
    finished(sw, Phase.ROLLED_BACK)
    template = rollout(sw)["spec"]["template"]
    sw.command("canary shop-v4")                                   # a new image during the freeze
    wait_until(lambda: any("frozen" in t for t in sw.ephemeral_texts("U0ALICE")), timeout=20,
               message="the start refused")
    assert rollout(sw)["spec"]["template"] == template and sw.world.store.active_for("shop") is None


def test_a_failed_analysis_aborts_the_rollout_and_the_release_says_which_metric(sandbox, kube, redis_client,
                                                                                 tmp_path):
    steps = [{"setWeight": 20}, {"analysis": {"templates": [{"templateName": "error-rate"}]}}, {"pause": {}}]
    sw = world_with_rollout(sandbox, kube, redis_client, tmp_path, steps=steps)
    try:
        sw.command("canary shop-errors")
        done = finished(sw, Phase.ROLLED_BACK)
        assert 'Metric "error-rate" assessed Failed' in done.reason
        assert status(sw)["abort"] is True
        wait_until(lambda: sw.world.pods_by_image("shop") == {"nginx:shop-v1": 10}, timeout=30, message="v1 back")
    finally:
        stop_slack_world(sw)


def test_a_promotion_outside_graybot_is_followed_and_named(sw, kube):
    from kubernetes import client

    sw.command("canary shop-v2")
    sw.wait_buttons("approve", "pause", "rollback")
    paused_at_step_2(sw)
    release = sw.world.store.active_for("shop")
    client.CustomObjectsApi(kube).patch_namespaced_custom_object_status(       # as kubectl argo rollouts promote
        "argoproj.io", "v1alpha1", NS, "rollouts", "shop", {"status": {"pauseConditions": None}},
        field_manager="kubectl-argo-rollouts")
    done = finished(sw, Phase.SUCCEEDED)
    assert done.id == release.id
    approved = next(e for e in sw.world.store.audit(done.id) if e["action"] == "approve")
    assert approved["actor"] == "kubectl-argo-rollouts"
    assert approved["detail"] == "promoted outside graybot by kubectl-argo-rollouts"
    wait_until(lambda: any("kubectl-argo-rollouts" in t for t in sw.thread_texts()), timeout=20,
               message="the thread says who promoted it")
    wait_until(lambda: sw.world.pods_by_image("shop") == {"nginx:shop-v2": 10}, timeout=20, message="all v2")


def test_an_abort_outside_graybot_rolls_the_release_back_and_names_who(sw, kube):
    from kubernetes import client

    sw.command("canary shop-v2")
    sw.wait_buttons("approve", "pause", "rollback")
    paused_at_step_2(sw)
    client.CustomObjectsApi(kube).patch_namespaced_custom_object_status(       # an Argo CD resource action
        "argoproj.io", "v1alpha1", NS, "rollouts", "shop", {"status": {"abort": True}}, field_manager="argocd-server")
    done = finished(sw, Phase.ROLLED_BACK)
    rolled = next(e for e in sw.world.store.audit(done.id) if e["action"] == "rollback")
    assert (rolled["actor"], rolled["detail"]) == ("argocd-server", "aborted outside graybot by argocd-server")
    wait_until(lambda: sw.world.pods_by_image("shop") == {"nginx:shop-v1": 10}, timeout=30, message="v1 back")


def test_a_rollout_that_is_not_there_is_refused_at_start_and_by_check_config(sandbox, kube, redis_client, tmp_path):
    import os
    import subprocess
    import sys

    import yaml

    doc = apps_yaml()
    doc["apps"]["shop"] = dict(seed_rollout(sandbox.store), object="nosuch")
    sw = start_slack_world(sandbox, kube, redis_client, tmp_path, doc)
    try:
        assert sw.world.kube.serves("argoproj.io", "v1alpha1", "rollouts")
        assert not sw.world.kube.serves("flagger.app", "v1", "canaries")        # no such version here
        sw.command("canary shop-v2")
        told = wait_until(lambda: sw.ephemeral_texts("U0ALICE"), timeout=20, message="the refusal")
        assert "Rollout default/nosuch does not exist (apps.shop.object" in told[-1]
        assert sw.world.store.active_for("shop") is None and status(sw).get("currentPodHash") == status(sw)["stableRS"]
        config = tmp_path / "check.yaml"
        config.write_text(yaml.safe_dump(doc))
        env = dict(os.environ, KUBECONFIG=str(sandbox.kubeconfig), GRAYBOT_CONFIG=str(config))
        run = subprocess.run([sys.executable, "-m", "bot.cli", "check-config"], env=env, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 1 and "apps.shop in default: Rollout default/nosuch does not exist" in run.stderr
        doc["apps"]["shop"]["object"] = "shop"
        config.write_text(yaml.safe_dump(doc))
        run = subprocess.run([sys.executable, "-m", "bot.cli", "check-config"], env=env, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0 and "shop: namespace default, argo-rollout shop" in run.stdout, run.stderr
    finally:
        stop_slack_world(sw)


def test_waves_promote_prods_rollout_only_after_staging_completed_and_a_wave_approval(sandbox, prod, redis_client,
                                                                                        tmp_path):
    from bot.domain.model import WaveState
    from tests.kit.clusters import at, slack_over_two

    entry = seed_rollout(sandbox.store)
    seed_rollout(prod.store)
    shop = dict(entry, clusters=["staging", "prod"], waves=["staging", "prod"])
    sw = slack_over_two(sandbox, prod, redis_client, tmp_path, apps={"shop": shop})
    both, store = sw.both, sw.world.store

    def rollout_in(cluster: str) -> dict:
        return both.kube(cluster).rollout(NS, "shop")
    try:
        wait_until(lambda: all((rollout_in(c).get("status") or {}).get("phase") == "Healthy" for c in ("staging", "prod")),
                   timeout=30, message="both Rollouts healthy")
        sw.command("canary shop-v2")
        at(store, "shop", 0, 0)
        wait_until(lambda: "Approve 100%" in str(sw.live_message()["blocks"]), timeout=20, message="staging's pause")
        sw.click("approve", user="U0ALICE")
        gate = at(store, "shop", 0, 1)                              # staging fully promoted: the wave gate
        assert gate.waves[0].state == WaveState.DONE and gate.waves[1].state == WaveState.PENDING
        s = rollout_in("staging")["status"]
        assert s["phase"] == "Healthy" and s["stableRS"] == s["currentPodHash"]
        assert rollout_in("prod")["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:shop-v1"
        wait_until(lambda: "Approve wave prod" in str(sw.live_message()["blocks"]), timeout=20,
                   message="the wave's Approve")
        sw.click("approve", user="U0ALICE")                         # the wave's approval
        at(store, "shop", 1, 0)
        p = rollout_in("prod")
        assert p["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:shop-v2"
        assert p["status"]["currentStepIndex"] == 1 and p["status"]["pauseConditions"]
        wait_until(lambda: "Approve 100%" in str(sw.live_message()["blocks"]), timeout=20, message="prod's pause")
        sw.click("approve", user="U0ALICE")
        done = wait_until(lambda: (h := store.history("shop")) and h[0].phase == Phase.SUCCEEDED and h[0], timeout=60,
                          message="shop succeeded in both")
        assert [w.state for w in done.waves] == [WaveState.DONE, WaveState.DONE]
        assert rollout_in("prod")["status"]["stableRS"] == rollout_in("prod")["status"]["currentPodHash"]
    finally:
        stop_slack_world(sw)


def test_stop_all_pauses_the_rollout_and_resume_unpauses_it(sw):
    sw.command("canary shop-v2")
    sw.wait_buttons("approve", "pause", "rollback")
    paused_at_step_2(sw)
    sw.command('stop-all "incident 42"')
    wait_until(lambda: rollout(sw)["spec"].get("paused") is True and status(sw).get("phase") == "Paused"
               and sw.world.store.active_for("shop").phase == Phase.PAUSED, timeout=20, message="paused by stop-all")
    sw.wait_buttons("resume", "rollback")
    assert sw.click("resume", user="U0ALICE").status == 200
    wait_until(lambda: not rollout(sw)["spec"].get("paused"), timeout=20, message="spec.paused cleared")
    paused_at_step_2(sw)                                            # back at its pause, waiting for Approve

