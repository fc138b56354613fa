"""graybot as the chat front end of OpenKruise Rollouts, through signed Slack requests against the
sandbox (whose controller runs the Kruise Rollout's steps on a canary Deployment): each step
approved from Slack as `kubectl-kruise rollout approve` writes it, an approval asked of a step
that is not paused refused with its state named."""
from __future__ import annotations

import pytest

from bot.domain.model import Phase
from bot.workloads.kruise_rollouts import NotPaused
from sandbox.seed import apps_yaml, seed_kruise
from tests.kit.slack import start_slack_world, stop_slack_world
from tests.kit.wait import wait_until

NS = "default"


@pytest.fixture
def sw(sandbox, kube, redis_client, tmp_path):
    """graybot over the sandbox with `cart`, a Deployment a Kruise Rollout drives (4 pods; steps 2,
    50%, 100%, each waiting for an approval), healthy at v1."""
    doc = apps_yaml()
    doc["apps"]["cart"] = dict(seed_kruise(sandbox.store), approvers=["U0ALICE"])
    world = start_slack_world(sandbox, kube, redis_client, tmp_path, doc)
    wait_until(lambda: kruise(world).get("phase") == "Healthy", timeout=30, message="cart healthy")
    yield world
    stop_slack_world(world)


def kruise(sw) -> dict:
    return sw.world.kube.kruise_rollout(NS, "cart").get("status") or {}


def succeeded(sw):
    return wait_until(lambda: (h := sw.world.store.history("cart")) and h[0].phase == Phase.SUCCEEDED and h[0],
                      timeout=60, message="cart succeeded")


def test_a_kruise_rollout_is_approved_step_by_step_and_an_early_approval_is_refused(sw):
    workload = sw.world.engine.workload_of("default", "kruise-rollout")
    with pytest.raises(NotPaused, match="its step is no canary running, not StepPaused"):
        workload.approve(NS, "cart")                                # nothing to approve yet
    sw.command("canary cart-v2")
    for step in (1, 2, 3):
        canary = wait_until(lambda: (c := kruise(sw).get("canaryStatus") or {}).get("currentStepIndex") == step
                            and c.get("currentStepState") == "StepPaused" and c, timeout=30,
                            message=f"cart paused at step {step}")
        wait_until(lambda: "approve" in sw.buttons(sw.live_message()), timeout=20, message="Approve shown")
        if step == 1:
            wait_until(lambda: sw.world.pods_by_image("cart") == {"nginx:cart-v1": 4, "nginx:cart-v2": 2},
                       timeout=20, message="2 canary pods beside the 4 stable ones")
            assert "*Kruise Rollout* Progressing · step 1/3" in str(sw.live_message()["blocks"])
        before = kruise(sw)
        sw.click("approve", user="U0ALICE")
        wait_until(lambda: kruise(sw) != before, timeout=20, message=f"step {step} approved")
        assert canary["currentStepIndex"] == step
    done = succeeded(sw)
    assert [e["action"] for e in sw.world.store.audit(done.id)].count("approve") == 3
    wait_until(lambda: sw.world.pods_by_image("cart") == {"nginx:cart-v2": 4}, timeout=30, message="all v2")


def test_approve_full_goes_past_every_step_to_the_end(sw):
    sw.command("canary cart-v2")
    wait_until(lambda: (r := sw.world.store.active_for("cart")) and r.phase == Phase.WAITING, timeout=30,
               message="cart waiting at its first step")
    sw.command("approve cart --full")
    done = succeeded(sw)
    assert [e["action"] for e in sw.world.store.audit(done.id)].count("approve_full") == 1
    wait_until(lambda: sw.world.pods_by_image("cart") == {"nginx:cart-v2": 4}, timeout=30, message="all v2")
