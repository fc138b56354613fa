"""Canary with the replicas router, end to end: sandbox cluster over HTTP + real Redis."""
from __future__ import annotations

import threading

import pytest
from kubernetes import watch

from bot.core.engine import Refused
from bot.domain.model import Phase
from tests.kit.wait import wait_until
from tests.kit.world import NS


def actions(w, release_id):
    return [e["action"] for e in w.store.audit(release_id)]


def test_canary_walks_10_30_50_100_and_retires_the_stable(world):
    w = world
    r = w.start("canary user-v2 10%")
    assert [s.name for s in r.stages] == ["10%", "30%", "50%", "100%"]
    expected = [(1, 9), (3, 7), (5, 5)]
    for stage, (new, old) in enumerate(expected):
        r = w.engine.settle(r.id, timeout=30)
        assert (r.phase, r.stage) == (Phase.WAITING, stage)
        assert (w.replicas("user-v2"), w.replicas("user-v1")) == (new, old)
        assert w.pods_by_image("user") == {"nginx:user-v2": new, "nginx:user-v1": old}
        assert w.selector("user") == {"app": "user"}          # both versions serve
        stored = w.store.get(r.id)
        assert stored.phase == Phase.WAITING and stored.version == r.version
        r = w.act("approve user", actor="U_BOB")
        assert r.phase == Phase.PROGRESSING and r.last_actor == "U_BOB"
    r = w.engine.settle(r.id, timeout=30)
    assert r.phase == Phase.SUCCEEDED
    assert w.kube.deployment(NS, "user-v1") is None
    assert w.pods_by_image("user") == {"nginx:user-v2": 10}
    new = w.kube.deployment(NS, "user-v2")
    assert new["spec"]["template"]["metadata"]["labels"]["version"] == "v2"
    assert actions(w, r.id) == ["create", "start"] + ["stage_healthy", "approve"] * 3 + ["finished"]
    assert w.store.active_for("user") is None and w.store.history("user")[0].id == r.id


def test_approve_full_goes_straight_to_100(world):
    r = world.start("canary user-v2 10%")
    world.engine.settle(r.id, timeout=30)
    world.act("approve user --full")
    r = world.engine.settle(r.id, timeout=30)
    assert r.phase == Phase.SUCCEEDED and world.pods_by_image("user") == {"nginx:user-v2": 10}


@pytest.mark.parametrize("approvals", [0, 1, 2])
def test_rollback_from_each_stage_restores_v1_before_removing_v2(world, approvals):
    w = world
    r = w.start("canary user-v2 10%")
    for _ in range(approvals):
        w.engine.settle(r.id, timeout=30)
        w.act("approve user")
    r = w.engine.settle(r.id, timeout=30)
    assert r.stage == approvals
    seen = []
    rv = w.apps.list_namespaced_deployment(NS).metadata.resource_version

    def observe():
        for event in watch.Watch().stream(w.apps.list_namespaced_deployment, NS,
                                          resource_version=rv, timeout_seconds=30):
            d = event["object"]
            seen.append((event["type"], d.metadata.name, d.status.ready_replicas or 0))
            if event["type"] == "DELETED" and d.metadata.name == "user-v2":
                return
    watcher = threading.Thread(target=observe)
    watcher.start()
    r = w.act("rollback user", actor="U_CAROL")
    assert r.phase == Phase.ROLLING_BACK
    r = w.engine.settle(r.id, timeout=30)
    watcher.join(30)
    assert r.phase == Phase.ROLLED_BACK
    assert w.kube.deployment(NS, "user-v2") is None
    wait_until(lambda: w.pods_by_image("user") == {"nginx:user-v1": 10})
    deleted_at = next(i for i, e in enumerate(seen) if e[0] == "DELETED" and e[1] == "user-v2")
    v1_before = [ready for kind, name, ready in seen[:deleted_at] if name == "user-v1"]
    assert v1_before and v1_before[-1] == 10, seen     # stable back at full strength first
    assert actions(w, r.id)[-2:] == ["rollback", "rollback_done"]
    assert w.store.audit(r.id)[-2]["actor"] == "U_CAROL"


def test_pause_holds_and_resume_continues(world):
    r = world.start("canary user-v2 10%")
    world.engine.settle(r.id, timeout=30)
    paused = world.act("pause user")
    assert paused.phase == Phase.PAUSED
    with pytest.raises(Refused, match="is paused; resume it first"):
        world.act("approve user")
    resumed = world.act("resume user")
    assert resumed.phase == Phase.WAITING and resumed.stage == 0
    assert (world.replicas("user-v2"), world.replicas("user-v1")) == (1, 9)


def test_a_second_release_for_a_busy_app_is_refused_and_names_the_first(world):
    first = world.start("canary user-v2 10%")
    with pytest.raises(Refused) as err:
        world.start("bluegreen user-v3", actor="U_BOB")
    assert first.id in str(err.value) and "canary to v2" in str(err.value)
    assert world.kube.deployment(NS, "user-v3") is None
    assert [r.id for r in world.store.active()] == [first.id]


def test_a_release_to_the_running_version_is_refused(world):
    with pytest.raises(Refused, match="already runs v1"):
        world.start("canary user-v1 10%")
    assert world.store.active() == []
