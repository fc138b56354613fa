"""Nothing is lost, nothing is done twice: concurrent approvals, crashes, dry runs."""
from __future__ import annotations

import json
import threading

import pytest

from bot.adapters.kube import Kube
from bot.core.engine import Refused
from bot.domain.model import Phase
from tests.kit.world import NS, another_process


def test_fifty_concurrent_approvals_of_one_stage_advance_it_once(world):
    w = world
    r = w.engine.settle(w.start("canary user-v2 10%").id, timeout=30)
    assert (r.phase, r.stage) == (Phase.WAITING, 0)
    results, barrier = [], threading.Barrier(50)

    def click(n):
        barrier.wait()
        try:
            results.append(("ok", w.act("approve user", actor=f"U{n:02d}", expected_version=r.version)))
        except Refused as err:
            results.append(("refused", str(err)))
    threads = [threading.Thread(target=click, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [res for kind, res in results if kind == "ok"]
    refusals = [res for kind, res in results if kind == "refused"]
    assert len(winners) == 1 and len(refusals) == 49
    assert all(f"approve by {winners[0].last_actor} at" in text for text in refusals)
    assert [e["action"] for e in w.store.audit(r.id)].count("approve") == 1
    assert w.engine.settle(r.id, timeout=30).stage == 1
    assert (w.replicas("user-v2"), w.replicas("user-v1")) == (3, 7)


def test_a_stale_approve_is_refused_with_who_and_when(world):
    w = world
    r = w.engine.settle(w.start("canary user-v2 10%").id, timeout=30)
    w.act("approve user", actor="U_BOB", expected_version=r.version)
    with pytest.raises(Refused, match=r"already done: approve by U_BOB at \d{4}-\d\d-\d\d"):
        w.act("approve user", actor="U_CAROL", expected_version=r.version)
    assert [e["actor"] for e in w.store.audit(r.id) if e["action"] == "approve"] == ["U_BOB"]


class Crash(BaseException):
    """The process dies: nothing after this line runs."""


class CrashAfterScale(Kube):
    """The real adapter; the process 'dies' right after one real cluster change."""

    def scale(self, ns, name, replicas):
        super().scale(ns, name, replicas)
        raise Crash(f"killed after scaling {name} to {replicas}")


def test_killed_between_cluster_change_and_redis_write_converges_on_restart(world, kube, redis_client):
    w = world
    r = w.engine.settle(w.start("canary user-v2 10%").id, timeout=30)
    doomed = another_process(w, kube=CrashAfterScale(kube)).engine
    with pytest.raises(Crash):
        doomed.act(w.cmd("approve user"), "U_BOB")
    assert w.replicas("user-v2") == 3                     # the cluster moved ...
    stored = w.store.get(r.id)
    assert (stored.phase, stored.stage) == (Phase.PROGRESSING, 1)   # ... and the intent was saved first
    redis_client.delete("graybot:lock:user")              # a dead process's lock expires; speed it up
    fresh = another_process(w).engine
    assert [x.id for x in fresh.store.active()] == [r.id]           # what a new leader's driver picks up
    r = fresh.settle(r.id, timeout=30)
    assert (r.phase, r.stage) == (Phase.WAITING, 1)
    assert (w.replicas("user-v2"), w.replicas("user-v1")) == (3, 7)
    assert len(w.apps.list_namespaced_replica_set(NS, label_selector="app=user,version=v2").items) == 1
    audit = [e["action"] for e in w.store.audit(r.id)]
    assert audit.count("approve") == 1 and audit.count("stage_healthy") == 2


def cluster_versions(sandbox) -> list[tuple[str, str]]:
    kinds = (("apps", "deployments"), ("", "services"), ("networking.k8s.io", "ingresses"))
    return sorted((o["metadata"]["name"], o["metadata"]["resourceVersion"])
                  for kind in kinds for o in sandbox.store.list(kind))


def test_plan_changes_nothing_on_the_cluster_or_in_redis(world, sandbox, redis_client):
    w = world
    before, keys_before = cluster_versions(sandbox), sorted(redis_client.keys("*"))
    for line in ("plan canary user-v2 10%", "plan bluegreen user-v2", "plan rolling user-v2",
                 "plan recreate user-v2"):
        release = w.start(line)
        assert release.phase == Phase.PENDING and release.stages
    plan = w.start("plan canary user-v2 41%")
    assert [(s.new_replicas, s.old_replicas) for s in plan.stages] == [(4, 6), (5, 5), (10, 0)]
    assert sorted(redis_client.keys("*")) == keys_before == []
    assert w.kube.deployment(NS, "user-v2") is None
    assert cluster_versions(sandbox) == before         # no Deployment, Service or Ingress written


def test_small_app_canary_math_follows_argo(world):
    plan = world.start("plan canary pay-v2 10%")
    assert [(s.new_replicas, s.old_replicas) for s in plan.stages] == [(1, 3), (1, 2), (2, 2), (3, 0)]


def test_state_older_than_the_cluster_never_moves_a_release(world, redis_client):
    """Redis came back older than the cluster: at stage 10% by its record while 30% runs, and a
    rolled-back release brought back to life. Neither an approval nor a timer moves them on."""
    w = world
    r = w.engine.settle(w.start("canary user-v2 --steps 10,30,100").id, timeout=30)
    older = redis_client.get(f"graybot:release:{r.id}")              # stage 10%, waiting
    w.engine.settle(w.act("approve user", actor="U_BOB").id, timeout=30)
    assert w.replicas("user-v2") == 3
    redis_client.set(f"graybot:release:{r.id}", older)               # the tail of the AOF is lost
    with pytest.raises(Refused, match="does not match the saved state"):
        w.act("approve user", actor="U_BOB")
    held = w.store.get(r.id)
    assert held.phase == Phase.PAUSED and "user-v2 runs 3 pods, the saved stage 10% 1" in held.reason
    assert (w.replicas("user-v2"), w.replicas("user-v1")) == (3, 7)     # nothing moved

    w.act("rollback user", actor="U_BOB")
    done = w.engine.settle(r.id, timeout=30)
    assert done.phase == Phase.ROLLED_BACK and w.replicas("user-v2") is None
    for key, value in (("graybot:active:user", r.id), (f"graybot:release:{r.id}", older)):
        redis_client.set(key, value)                                   # an old replica promoted
    redis_client.sadd("graybot:active", r.id)
    assert w.engine.advance(r.id, json.loads(older)["version"]).phase == Phase.PAUSED   # the --auto timer fires
    held = w.store.get(r.id)
    assert "user-v2 is gone (the saved stage 10% has 1 pods of it)" in held.reason
    assert w.replicas("user-v2") is None and w.replicas("user-v1") == 10   # v2 not re-created
