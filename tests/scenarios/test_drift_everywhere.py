"""Drift on what a release routes through and moves, in every phase, against the sandbox over
HTTP: an HTTPRoute weight put back by another manager while the release waits, a canary Ingress's
weight and a VirtualService's weights changed, and the stable Deployment scaled by someone else while a
stage is being applied, each pause the release naming who."""
from __future__ import annotations

import time
from contextlib import contextmanager

from kubernetes import client

from bot.domain.model import Phase
from sandbox.seed import apps_yaml, httproute
from tests.kit.wait import wait_until
from tests.kit.world import NS, demo_world

G, V = "gateway.networking.k8s.io", "v1"


def paused(w, release_id: str):
    return wait_until(lambda: (x := w.store.get(release_id)).phase == Phase.PAUSED and x, timeout=20,
                      message="the release paused")


@contextmanager
def waiting_under(router: str, sandbox, kube, redis_client, tmp_path):
    """A canary of user at 10%, waiting, under `router`, in a world stopped afterwards."""
    doc = apps_yaml()
    doc["apps"]["user"]["router"] = router
    w = demo_world(sandbox, kube, redis_client, tmp_path, doc).run_driver()
    try:
        r = w.engine.settle(w.start("canary user-v2 10%").id, timeout=30)
        assert r.phase == Phase.WAITING
        wait_until(lambda: time.time() >= r.updated_at + 1, timeout=3)   # a later second
        yield w, r
    finally:
        w.stop()


def paused_by(w, r, said: str) -> None:
    assert said in paused(w, r.id).reason

def test_an_httproute_put_back_by_another_manager_pauses_the_waiting_release(sandbox, kube, redis_client, tmp_path):
    with waiting_under("gateway", sandbox, kube, redis_client, tmp_path) as (w, r):
        objects = client.CustomObjectsApi(kube)
        route = objects.get_namespaced_custom_object(G, V, NS, "httproutes", "user")
        route["spec"]["rules"] = httproute("user")["spec"]["rules"]       # what a self-heal puts back: Git's
        objects.replace_namespaced_custom_object(G, V, NS, "httproutes", "user", route,
                                                 field_manager="argocd-controller")
        paused_by(w, r, "HTTPRoute user was changed by argocd-controller outside graybot while stage 10% was waiting")



def test_a_stable_deployment_scaled_by_another_manager_while_a_stage_is_applied_pauses_the_release(
        sandbox, kube, redis_client, tmp_path):
    w = demo_world(sandbox, kube, redis_client, tmp_path).run_driver()
    # the stage's new pods never become ready within the test, so the stage is still being applied
    # when someone else scales the stable, however slowly a loaded machine gets there (a window of
    # a few ticks between the stable's scale-down and the stage turning healthy raced in CI)
    sandbox.timing.ready_delay = 60.0
    try:
        r = w.start("canary user-v2 30%")
        wait_until(lambda: w.replicas("user-v2") == 3, timeout=20, message="graybot created the canary's 3 pods")
        release = w.store.get(r.id)
        assert release.phase == Phase.PROGRESSING and w.ready("user-v2") == 0
        wait_until(lambda: time.time() >= release.updated_at + 1, timeout=3)   # managedFields keep seconds
        client.AppsV1Api(kube).patch_namespaced_deployment_scale("user-v1", NS, {"spec": {"replicas": 12}},
                                                                 field_manager="argocd-controller")
        held = paused(w, r.id)
        assert "user-v1 was changed by argocd-controller outside graybot while stage 30% was being applied" \
            in held.reason
        assert w.replicas("user-v1") == 12      # shown, not fought: graybot did not scale it back
    finally:
        w.stop()


def test_a_canary_ingress_weight_changed_by_another_manager_pauses_the_release(sandbox, kube, redis_client, tmp_path):
    with waiting_under("nginx", sandbox, kube, redis_client, tmp_path) as (w, r):
        net = client.NetworkingV1Api(kube)
        assert net.read_namespaced_ingress("user-canary", NS).metadata.annotations[
            "nginx.ingress.kubernetes.io/canary-weight"] == "10"
        net.patch_namespaced_ingress("user-canary", NS, {"metadata": {"annotations": {
            "nginx.ingress.kubernetes.io/canary-weight": "0"}}}, field_manager="kubectl-edit")
        paused_by(w, r, "Ingress user-canary was changed by kubectl-edit outside graybot while stage 10% was waiting")



def test_a_virtualservice_weight_changed_by_another_manager_pauses_the_release(sandbox, kube, redis_client, tmp_path):
    with waiting_under("istio", sandbox, kube, redis_client, tmp_path) as (w, r):
        objects = client.CustomObjectsApi(kube)
        vs = objects.get_namespaced_custom_object("networking.istio.io", "v1beta1", NS, "virtualservices", "user")
        for route in vs["spec"]["http"][-1]["route"]:
            route["weight"] = 100 if route["destination"]["subset"] == "v1" else 0
        objects.patch_namespaced_custom_object("networking.istio.io", "v1beta1", NS, "virtualservices", "user",
                                               {"spec": {"http": vs["spec"]["http"]}}, field_manager="argocd-controller")
        paused_by(w, r, "VirtualService user was changed by argocd-controller outside graybot while stage 10% was waiting")
