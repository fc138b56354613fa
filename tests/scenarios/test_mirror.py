"""A shadow stage on the gateway router, against the sandbox's Gateway API (whose data plane
copies a RequestMirror filter's share of requests and drops the copies' answers): a failing shadow
rolled back before a single user request reaches it, and a Gateway whose class lacks the feature
refused with nothing changed. (The copies' share, for every router that mirrors, is in
tests/contract/test_routers.py.)"""
from __future__ import annotations


import urllib3
from kubernetes import client

from bot.core.service import run_text
from bot.domain.model import Phase
from sandbox.seed import apps_yaml
from tests.kit.wait import wait_until
from tests.kit.world import NS, Worlds, demo_world, rested

G, V = "gateway.networking.k8s.io", "v1"


def gateway_world(sandbox, kube, redis_client, tmp_path):
    doc = apps_yaml()
    doc["apps"]["user"].update(router="gateway")
    w = demo_world(sandbox, kube, redis_client, tmp_path, doc)
    w.http, w.url = urllib3.PoolManager(), sandbox.url
    return w


def driven_rule(w) -> dict:
    return w.kube.httproute(NS, "user")["spec"]["rules"][0]


def test_a_gateway_without_the_mirror_feature_is_refused_and_nothing_changes(sandbox, kube, redis_client, tmp_path):
    w = gateway_world(sandbox, kube, redis_client, tmp_path)
    objects = client.CustomObjectsApi(kube)
    objects.patch_cluster_custom_object(G, V, "gatewayclasses", "sandbox", {"metadata": {"annotations": {
        "sandbox.graybot.io/unsupported-features": "HTTPRouteRequestPercentageMirror"}}})
    wait_until(lambda: {"name": "HTTPRouteRequestPercentageMirror"} not in objects.get_cluster_custom_object(
        G, V, "gatewayclasses", "sandbox")["status"]["supportedFeatures"], timeout=10, message="the class says so")
    before = w.kube.httproute(NS, "user")
    reply = run_text(w.engine, "mirror user-v2 20%", "U_ALICE")
    assert "Gateway public (class sandbox) does not support HTTPRouteRequestPercentageMirror" in reply.text
    assert w.store.active_for("user") is None and w.kube.deployment(NS, "user-v2") is None
    assert w.kube.service(NS, "user-v2") is None and w.kube.httproute(NS, "user") == before


def test_a_failing_shadow_is_rolled_back_before_any_user_request_reaches_it(sandbox, kube, redis_client, tmp_path):
    worlds = Worlds(sandbox, kube, redis_client, tmp_path)
    try:
        doc = apps_yaml(metrics=True, bake="3s")
        doc["apps"]["user"]["router"] = "gateway"
        w = worlds.under_traffic(doc, rps=200, prometheus=sandbox.url)
        r = rested(w, w.start("mirror user-errors 20%").id)
        assert r.phase == Phase.ROLLED_BACK and "error-rate" in r.reason and "above the max" in r.reason
        assert sandbox.traffic.copied[("user", "errors")] > 0            # the shadow was judged on copies
        assert sandbox.traffic.answered[("user", "errors")] == 0         # and no user was ever served by it
        assert "filters" not in driven_rule(w) and w.kube.deployment(NS, "user-errors") is None
    finally:
        worlds.stop()
