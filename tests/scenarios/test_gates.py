"""Health and metric gates: bad versions go back by themselves, with the reason recorded."""
from __future__ import annotations

import pytest

from bot.adapters import telemetry
from bot.domain.model import Phase
from sandbox.seed import apps_yaml
from tests.kit.wait import wait_until
from tests.kit.world import NS, demo_world


@pytest.fixture
def gw(sandbox, kube, redis_client, tmp_path):
    made = []

    def make(apps_doc=None, prometheus: str = ""):
        w = demo_world(sandbox, kube, redis_client, tmp_path, apps_doc, prometheus=prometheus).run_driver()
        made.append(w)
        return w
    yield make
    for w in made:
        w.stop()


def finished(w, app="user"):
    return wait_until(lambda: w.store.active_for(app) is None and w.store.history(app)[0],
                      timeout=40, message=f"{app} release finished")


def test_broken_canary_is_rolled_back_without_a_click(gw):
    w = gw()
    r = w.start("canary user-broken 10%")
    done = finished(w)
    assert done.id == r.id and done.phase == Phase.ROLLED_BACK
    assert "restarted" in done.reason and "max_restarts is 1" in done.reason and "user-broken-" in done.reason
    audit = w.store.audit(r.id)
    assert [e["actor"] for e in audit if e["action"] not in ("create", "start")] == ["graybot"] * 2
    assert [e["action"] for e in audit][-2:] == ["gate_failed", "rollback_done"]
    assert w.kube.deployment(NS, "user-broken") is None and w.replicas("user-v1") == 10


@pytest.mark.parametrize("strategy", ["rolling", "recreate"])
def test_in_place_releases_of_a_broken_image_are_undone(gw, strategy):
    w = gw()
    r = w.start(f"{strategy} pay-broken")
    done = finished(w, "pay")
    assert done.phase == Phase.ROLLED_BACK and "restarted" in done.reason
    image = w.kube.deployment(NS, "pay-v1")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "nginx:pay-v1"
    wait_until(lambda: w.pods_by_image("pay") == {"nginx:pay-v1": 3}, timeout=30)
    assert done.id == r.id


def test_no_auto_rollback_holds_the_release_with_the_evidence(gw):
    w = gw()
    r = w.start("canary user-broken 10% --no-auto-rollback")
    held = wait_until(lambda: (x := w.store.get(r.id)).phase == Phase.PAUSED and x, timeout=30)
    assert held.last_action == "gate_held" and "CrashLoopBackOff" in held.reason
    assert w.replicas("user-broken") == 1                       # nothing undone without a human
    w.act("rollback user", actor="U_OPS")
    assert finished(w).phase == Phase.ROLLED_BACK


def metric_apps(bake="1s") -> dict:
    return apps_yaml(metrics=True, bake=bake)


def test_metric_gate_rolls_back_an_errors_image_with_the_measured_rate(gw, sandbox):
    sandbox.generator.rps = 400
    sandbox.generator.start()
    w = gw(metric_apps(), prometheus=sandbox.url)
    counted = lambda gate: telemetry.GATE_EVALUATIONS.labels(gate=gate, result="fail")._value.get()  # noqa: E731
    before = counted("metric"), counted("health")
    r = w.start("canary user-errors 30%")
    done = finished(w)
    assert done.phase == Phase.ROLLED_BACK
    assert (counted("metric"), counted("health")) == (before[0] + 1, before[1])     # one failure, counted once
    assert done.reason.startswith("3 new / 7 old pods ready") and "error-rate = 0." in done.reason
    rate = float(done.reason.split("error-rate = ")[1].split(",")[0])
    assert 0.05 < rate < 0.5 and "above the max of 0.05" in done.reason
    assert r.id == done.id


def test_metric_gate_passes_a_healthy_image(gw, sandbox):
    sandbox.generator.rps = 400
    sandbox.generator.start()
    w = gw(metric_apps(), prometheus=sandbox.url)
    r = w.start("canary user-v2 30%")
    waiting = wait_until(lambda: (x := w.store.get(r.id)).phase == Phase.WAITING and x, timeout=30)
    healthy = [e for e in w.store.audit(r.id) if e["action"] == "stage_healthy"]
    assert "error-rate = 0 (max 0.05)" in healthy[0]["detail"] and waiting.stage == 0


def test_empty_prometheus_pauses_as_inconclusive(gw, sandbox):
    w = gw(metric_apps(), prometheus=sandbox.url)           # no traffic: no data
    r = w.start("canary user-v2 10%")
    held = wait_until(lambda: (x := w.store.get(r.id)).phase == Phase.PAUSED and x, timeout=30)
    assert held.last_action == "gate_inconclusive" and "error-rate: no data" in held.reason
    w.act("continue user", actor="U_OPS")                    # a human decides to go on
    assert wait_until(lambda: w.store.get(r.id).phase == Phase.WAITING, timeout=20)


def test_unreachable_prometheus_pauses_as_inconclusive(gw):
    w = gw(metric_apps(), prometheus="http://127.0.0.1:9")
    r = w.start("canary user-v2 10%")
    held = wait_until(lambda: (x := w.store.get(r.id)).phase == Phase.PAUSED and x, timeout=30)
    assert "error-rate: http://127.0.0.1:9/api/v1/query could not be reached" in held.reason
    assert held.last_action == "gate_inconclusive"
    assert w.replicas("user-v2") == 1


def test_a_stage_that_never_gets_healthy_fails_at_the_progress_deadline(gw, sandbox):
    sandbox.timing.slow_delay = 60                      # far beyond the deadline
    doc = apps_yaml()
    doc["apps"]["user"]["gates"].update(progress_deadline="2s", max_restarts=1000)
    w = gw(doc)
    done_release = w.start("canary user-slow 10%")    # Ready only after the slow delay
    done = finished(w)
    assert done.phase == Phase.ROLLED_BACK and "not healthy within 2s" in done.reason
    assert done.id == done_release.id


@pytest.mark.parametrize("change", ["scale", "delete"])
def test_a_deployment_changed_by_hand_while_waiting_holds_the_release(gw, change):
    w = gw()
    r = w.engine.settle(w.start("canary user-v2 10%").id, timeout=30)
    assert r.phase == Phase.WAITING
    if change == "scale":
        w.apps.patch_namespaced_deployment_scale("user-v2", NS, {"spec": {"replicas": 5}})
        want = "user-v2 was scaled to 5 by OpenAPI-Generator outside graybot (stage 10% wants 1)"   # its manager
    else:
        w.apps.delete_namespaced_deployment("user-v2", NS)
        want = "user-v2 was deleted outside graybot while the release waited"
    held = wait_until(lambda: (x := w.store.get(r.id)) and x.phase == Phase.PAUSED and x, timeout=20)
    assert held.reason == want and held.last_actor == "graybot"
    assert [e["detail"] for e in w.store.audit(r.id) if e["action"] == "pause"] == [want]


def test_plan_refuses_to_guess_the_stable_version_when_two_serve(world):
    world.apps.create_namespaced_deployment(NS, {
        "metadata": {"name": "user-v9", "labels": {"app": "user", "version": "v9"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "user", "version": "v9"}},
                 "template": {"metadata": {"labels": {"app": "user", "version": "v9"}},
                              "spec": {"containers": [{"name": "user", "image": "nginx:user-v9"}]}}}})
    from bot.core.engine import Refused
    with pytest.raises(Refused, match=r"2 Deployments of user serve \(user-v1 x10, user-v9 x1\), so graybot "
                                      r"will not guess which is stable"):
        world.start("plan canary user-v2 10%")
