"""Blue/green, rolling and recreate, end to end against the sandbox and real Redis."""
from __future__ import annotations

import pytest

from bot.domain.model import Phase
from tests.kit.wait import wait_until
from tests.kit.world import NS


def image_of(w, name):
    return w.kube.deployment(NS, name)["spec"]["template"]["spec"]["containers"][0]["image"]


def test_bluegreen_green_then_switch_then_retire(world):
    w = world
    r = w.engine.settle(w.start("bluegreen user-v2").id, timeout=30)
    assert (r.phase, r.stage) == (Phase.WAITING, 0)
    assert (w.ready("user-v2"), w.ready("user-v1")) == (10, 10)
    assert w.selector("user") == {"app": "user", "version": "v1"}      # traffic stays on blue
    w.act("approve user")
    r = w.engine.settle(r.id, timeout=30)
    assert (r.phase, r.stage) == (Phase.WAITING, 1)
    assert w.selector("user") == {"app": "user", "version": "v2"}
    assert w.replicas("user-v1") == 10                                    # blue kept for rollback
    w.act("approve user")
    r = w.engine.settle(r.id, timeout=30)
    assert r.phase == Phase.SUCCEEDED and w.kube.deployment(NS, "user-v1") is None
    wait_until(lambda: w.pods_by_image("user") == {"nginx:user-v2": 10}, timeout=20, message="blue's pods gone")


@pytest.mark.parametrize("approvals", [0, 1])
def test_bluegreen_rollback_switches_back_while_blue_is_there(world, approvals):
    w = world
    r = w.start("bluegreen user-v2")
    for _ in range(approvals):
        w.engine.settle(r.id, timeout=30)
        w.act("approve user")
    w.engine.settle(r.id, timeout=30)
    w.act("rollback user")
    r = w.engine.settle(r.id, timeout=30)
    assert r.phase == Phase.ROLLED_BACK
    assert w.selector("user") == {"app": "user"}                          # the original selector
    assert w.kube.deployment(NS, "user-v2") is None and w.ready("user-v1") == 10


def test_rolling_update_with_surge_and_unavailable_from_the_command(world):
    w = world
    r = w.start("rolling user-v2 --max-surge 1 --max-unavailable 0")
    assert r.new_name == r.stable_name == "user-v1" and len(r.stages) == 1
    r = w.engine.settle(r.id, timeout=60)
    assert r.phase == Phase.SUCCEEDED
    deploy = w.kube.deployment(NS, "user-v1")
    assert deploy["spec"]["strategy"] == {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert image_of(w, "user-v1") == "nginx:user-v2"
    wait_until(lambda: w.pods_by_image("user") == {"nginx:user-v2": 10})


def test_rolling_pause_sets_spec_paused_and_rollback_restores_the_previous_template(world):
    w = world
    r = w.start("rolling user-v2 --max-surge 1 --max-unavailable 0")
    paused = w.act("pause user")
    assert paused.phase == Phase.PAUSED and w.kube.deployment(NS, "user-v1")["spec"]["paused"] is True
    w.act("rollback user")
    r = w.engine.settle(r.id, timeout=60)
    assert r.phase == Phase.ROLLED_BACK
    deploy = w.kube.deployment(NS, "user-v1")
    assert image_of(w, "user-v1") == "nginx:user-v1" and deploy["spec"]["paused"] is False
    assert deploy["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}
    wait_until(lambda: w.pods_by_image("user") == {"nginx:user-v1": 10})


def test_recreate_warns_of_downtime_and_replaces_every_pod(world):
    w = world
    plan = w.start("plan recreate user-v2")
    assert "DOWNTIME" in plan.stages[0].note
    r = w.engine.settle(w.start("recreate user-v2").id, timeout=60)
    assert r.phase == Phase.SUCCEEDED
    assert w.kube.deployment(NS, "user-v1")["spec"]["strategy"] == {"type": "Recreate"}
    wait_until(lambda: w.pods_by_image("user") == {"nginx:user-v2": 10})


def test_recreate_rollback_restores_the_rolling_strategy_and_v1(world):
    w = world
    r = w.start("recreate user-v2")
    w.act("rollback user")
    r = w.engine.settle(r.id, timeout=60)
    assert r.phase == Phase.ROLLED_BACK
    assert w.kube.deployment(NS, "user-v1")["spec"]["strategy"]["type"] == "RollingUpdate"
    wait_until(lambda: w.pods_by_image("user") == {"nginx:user-v1": 10})
