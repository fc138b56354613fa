"""Webhook gates against the sandbox's smoke-test endpoint over HTTP: a failing pre-promotion
hook fails the gate with its evidence, a smoke test catches a canary that fails requests, a
hook that does not answer in time pauses the release, post-rollout hears of success."""
from __future__ import annotations

import json

import urllib3

from bot.domain.model import Phase
from sandbox.seed import apps_yaml
from tests.kit.world import NS, demo_world


def hooked_world(sandbox, kube, redis_client, tmp_path, **webhooks):
    doc = apps_yaml()
    doc["apps"]["user"]["webhooks"] = {kind.replace("_", "-"): [dict(h, url=sandbox.url + h["url"]) for h in hooks]
                                      for kind, hooks in webhooks.items()}
    return demo_world(sandbox, kube, redis_client, tmp_path, doc)


def calls(sandbox) -> list[dict]:
    return json.loads(urllib3.PoolManager().request("GET", sandbox.url + "/sandbox/webhooks").data)["calls"]


def test_a_failing_pre_promotion_hook_fails_the_gate_with_its_evidence(sandbox, kube, redis_client, tmp_path):
    w = hooked_world(sandbox, kube, redis_client, tmp_path,
                     pre_promotion=[{"url": "/sandbox/smoke?status=503", "timeout": "5s"}])
    r = w.engine.settle(w.start("canary user-v2 10%").id)
    assert r.phase == Phase.WAITING and not calls(sandbox)        # no hook before stage 0
    w.act("approve user")
    r = w.engine.settle(r.id)
    assert r.phase == Phase.ROLLED_BACK
    assert r.reason == f"pre-promotion webhook {sandbox.url}/sandbox/smoke answered 503: answering 503 as asked"
    assert w.replicas("user-v1") == 10 and w.kube.deployment(NS, "user-v2") is None
    (call,) = calls(sandbox)
    assert call["body"]["kind"] == "pre-promotion" and call["body"]["stage"]["name"] == "30%"
    assert (call["body"]["app"], call["body"]["to_version"], call["body"]["release"]) == ("user", "v2", r.id)


def test_a_smoke_test_before_each_stage_catches_a_canary_that_fails_requests(sandbox, kube, redis_client, tmp_path):
    hook = {"url": "/sandbox/smoke?n=200&max_errors=0", "timeout": "10s"}
    w = hooked_world(sandbox, kube, redis_client, tmp_path, pre_promotion=[hook])
    r = w.engine.settle(w.start("canary user-v2-errors-4 10%").id)
    w.act("approve user")
    r = w.engine.settle(r.id)
    assert r.phase == Phase.ROLLED_BACK and "smoke test failed:" in r.reason and "to user version v2-errors-4 failed" in r.reason


def test_a_healthy_canary_passes_the_smoke_tests_and_post_rollout_hears_of_it(sandbox, kube, redis_client, tmp_path):
    w = hooked_world(sandbox, kube, redis_client, tmp_path,
                     pre_rollout=[{"url": "/sandbox/smoke?service=user&n=20"}],
                     pre_promotion=[{"url": "/sandbox/smoke?n=100"}],
                     post_rollout=[{"url": "/sandbox/smoke?service=user&n=1"}])
    r = w.engine.settle(w.start("canary user-v2 50%").id)
    w.act("approve user")
    r = w.engine.settle(r.id)
    assert w.store.history("user")[0].phase == Phase.SUCCEEDED, w.store.history("user")[0].reason
    assert [c["body"]["kind"] for c in calls(sandbox)] == ["pre-rollout", "pre-promotion", "post-rollout"]
    passed = [e["detail"] for e in w.store.audit(r.id) if e["action"] == "webhook"]
    assert len(passed) == 3 and passed[-1].startswith("pass: post-rollout webhook")


def test_a_hook_that_does_not_answer_in_time_pauses_for_a_person(sandbox, kube, redis_client, tmp_path):
    w = hooked_world(sandbox, kube, redis_client, tmp_path,
                     pre_rollout=[{"url": "/sandbox/smoke?delay=3&service=user", "timeout": "1s"}])
    r = w.engine.settle(w.start("canary user-v2 10%").id)
    assert r.phase == Phase.PAUSED and r.last_action == "gate_inconclusive"
    assert r.reason.endswith("did not answer within 1s")
    assert w.kube.deployment(NS, "user-v2") is None                  # nothing changed before it
    w.act("continue user")                                           # a person decides to go on
    assert w.engine.settle(r.id).phase == Phase.WAITING


def test_a_rollback_during_a_slow_gate_wins_and_the_gates_late_pass_is_discarded(sandbox, kube, redis_client,
                                                                                 tmp_path):
    import threading
    import time

    w = hooked_world(sandbox, kube, redis_client, tmp_path,
                     pre_promotion=[{"url": "/sandbox/smoke?delay=4&service=user", "timeout": "20s"}])
    r = w.engine.settle(w.start("canary user-v2 10%").id)
    assert r.phase == Phase.WAITING
    approving = threading.Thread(target=w.act, args=("approve user", "U_BOB"))     # runs the 4 s hook, locked
    approving.start()
    while not calls(sandbox):                                        # the hook has been called
        time.sleep(0.05)
    stopped = w.act("rollback user", actor="U_OPS")                  # recorded at once, not "busy"
    assert stopped.phase == Phase.ROLLING_BACK and stopped.last_actor == "U_OPS"
    assert approving.is_alive()                                      # while the hook still runs
    approving.join(30)
    done = w.engine.settle(r.id)
    assert done.phase == Phase.ROLLED_BACK and done.stage == 1        # stage 30% was never applied
    assert w.kube.deployment(NS, "user-v2") is None and w.replicas("user-v1") == 10
    changes = [e["action"] for e in w.store.audit(r.id) if "version" in e]      # state changes, not notes
    assert changes[changes.index("approve"):] == ["approve", "rollback", "rollback_done"], changes
