"""The gateway router against the sandbox's Gateway API over HTTP: segments that win by
specificity, sticky users, status conditions, endpoint checks and an exact rollback."""
from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes import client

from bot.domain.model import Phase
from sandbox.seed import apps_yaml
from strategies.routers.gateway import GatewayRouter, RELEASE_LABEL
from tests.kit.wait import wait_until
from tests.kit.world import NS, demo_world

G, V = "gateway.networking.k8s.io", "v1"
WEB = {"name": "web", "matches": [{"path": {"type": "PathPrefix", "value": "/user"}}],
       "backendRefs": [{"name": "user", "port": 80}]}
API = {"name": "api", "matches": [{"path": {"type": "PathPrefix", "value": "/user/api"}, "method": "GET"}],
       "backendRefs": [{"name": "user", "port": 80}]}


def gateway_world(sandbox, kube, redis_client, tmp_path, rules=None, **app):
    doc = apps_yaml()
    doc["apps"]["user"].update(router="gateway", **app)
    w = demo_world(sandbox, kube, redis_client, tmp_path, doc)
    if rules is not None:
        objects = client.CustomObjectsApi(kube)
        route = objects.get_namespaced_custom_object(G, V, NS, "httproutes", "user")
        route["spec"]["rules"] = rules
        objects.replace_namespaced_custom_object(G, V, NS, "httproutes", "user", route)
    w.http = urllib3.PoolManager()
    w.url = sandbox.url
    return w


def traffic(w, n=300, path="/user", **params) -> dict:
    resp = w.http.request("GET", w.url + "/sandbox/traffic",
                          fields={"n": str(n), "gateway": "public", "path": path, **params})
    return json.loads(resp.data)


def share(result: dict) -> float:
    return 100 * result["versions"].get("v2", 0) / result["total"]


def route(w) -> dict:
    return w.kube.httproute(NS, "user")


def test_segments_copy_the_shadowed_rule_and_win_over_a_more_specific_path(sandbox, kube, redis_client, tmp_path):
    w = gateway_world(sandbox, kube, redis_client, tmp_path, rules=[WEB, API], rule="api")
    r = w.engine.settle(w.start(r"ab user-v2 header:x-app-version~^3\.[2-9]").id, timeout=30)
    assert (r.phase, r.current.weight) == (Phase.WAITING, 0)
    segment = next(rule for rule in route(w)["spec"]["rules"] if rule.get("name") == "graybot-ab")
    assert segment["matches"][0]["path"] == {"type": "PathPrefix", "value": "/user/api"}
    assert segment["matches"][0]["method"] == "GET"
    assert share(traffic(w, path="/user/api/orders", header="x-app-version:3.5")) == 100.0
    assert share(traffic(w, path="/user/api/orders", header="x-app-version:3.1")) == 0.0
    assert share(traffic(w, path="/user/api/orders", header="x-app-version:4.2")) == 0.0
    assert share(traffic(w, path="/user/api/orders")) == 0.0
    assert share(traffic(w, path="/user/api/orders", header="x-app-version:3.5", method="POST")) == 0.0
    assert share(traffic(w, path="/user/profile", header="x-app-version:3.5")) == 0.0  # not the driven rule
    w.act("rollback user")
    w.engine.settle(r.id, timeout=30)
    assert [rule.get("name") for rule in route(w)["spec"]["rules"]] == ["web", "api"]


def test_exact_header_segment_reaches_only_matching_requests(sandbox, kube, redis_client, tmp_path):
    w = gateway_world(sandbox, kube, redis_client, tmp_path, rules=[WEB, API], rule="api")
    w.engine.settle(w.start("ab user-v2 header:x-beta=yes").id, timeout=30)
    assert share(traffic(w, path="/user/api", header="x-beta:yes")) == 100.0
    assert share(traffic(w, path="/user/api", header="x-beta:no")) == 0.0
    assert share(traffic(w, path="/user/api")) == 0.0


def test_rollback_restores_the_route_exactly(sandbox, kube, redis_client, tmp_path):
    w = gateway_world(sandbox, kube, redis_client, tmp_path, rules=[WEB, API], rule="web")
    before = route(w)
    r = w.engine.settle(w.start("canary user-v2 10% --sticky").id, timeout=30)
    during = route(w)
    assert during["metadata"]["labels"][RELEASE_LABEL] == "in-progress"
    assert len(during["spec"]["rules"]) == 4 and during["spec"] != before["spec"]
    w.act("rollback user")
    r = w.engine.settle(r.id, timeout=30)
    assert r.phase == Phase.ROLLED_BACK
    after = route(w)
    assert json.dumps(after["spec"], sort_keys=True) == json.dumps(before["spec"], sort_keys=True)
    assert after["metadata"].get("labels") == before["metadata"].get("labels")
    assert w.kube.service(NS, "user-v2") is None and w.selector("user") == {"app": "user"}


def test_a_route_the_gateway_does_not_accept_fails_the_stage_with_its_reason(sandbox, kube, redis_client, tmp_path):
    w = gateway_world(sandbox, kube, redis_client, tmp_path)
    objects = client.CustomObjectsApi(kube)
    objects.patch_namespaced_custom_object(G, V, NS, "httproutes", "user",
                                           {"spec": {"parentRefs": [{"name": "public", "sectionName": "https"}]}})
    r = w.engine.settle(w.start("canary user-v2 10%").id, timeout=30)
    assert r.phase == Phase.ROLLED_BACK, r
    assert "Accepted is False (NoMatchingParent)" in r.reason and "https" in r.reason
    assert w.kube.service(NS, "user-v2") is None
    assert [ref["name"] for ref in route(w)["spec"]["rules"][0]["backendRefs"]] == ["user"]


def test_no_weight_moves_to_a_service_without_ready_endpoints(sandbox, kube, redis_client, tmp_path):
    w = gateway_world(sandbox, kube, redis_client, tmp_path)
    release = w.engine.plan(w.cmd("canary user-v2 10%"), "U_ALICE")
    router, app = GatewayRouter(), w.registry["user"]
    waiting = router.route(w.kube, app, release, release.current)          # no Service user-v2 yet
    assert waiting is not None and "does not exist" in waiting.detail and not waiting.failure
    router.prepare(w.kube, app, release)                                   # Service, but no pods
    waiting = router.route(w.kube, app, release, release.current)
    assert waiting is not None and "no Ready endpoints" in waiting.detail
    assert [ref["name"] for ref in route(w)["spec"]["rules"][0]["backendRefs"]] == ["user"]


def test_a_missing_backend_is_reported_by_the_gateway_and_answers_500(sandbox, kube, redis_client, tmp_path):
    w = gateway_world(sandbox, kube, redis_client, tmp_path,
                      rules=[dict(WEB, backendRefs=[{"name": "user", "port": 80, "weight": 50},
                                                    {"name": "nowhere", "port": 80, "weight": 50}])])
    def conditions():
        status = route(w).get("status") or {}
        return {c["type"]: c for p in status.get("parents", []) for c in p["conditions"]
                if c["observedGeneration"] == route(w)["metadata"]["generation"]}
    wait_until(lambda: "ResolvedRefs" in conditions(), timeout=5)
    assert conditions()["ResolvedRefs"]["status"] == "False"
    assert conditions()["ResolvedRefs"]["reason"] == "BackendNotFound"
    result = traffic(w, n=400)
    assert 120 <= result["unserved"] <= 280 and result["versions"].get("v1", 0) == 400 - result["unserved"]


@pytest.mark.parametrize("text", ["canary user-v2 10% --sticky --router nginx",
                                  "canary user-v2 10% --sticky --router replicas"])
def test_sticky_needs_a_router_that_sets_cookies(world, text):
    from bot.core.service import run_text
    reply = run_text(world.engine, text, "U_ALICE")
    assert "--sticky needs --router gateway|istio" in reply.text
    assert world.store.active_for("user") is None
