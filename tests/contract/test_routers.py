"""The router contract: one suite over every name in bot.domain.names.ROUTERS (a new router gets
it by being listed), against the sandbox's simulated traffic: the share follows each stage,
completion and rollback drop no request and leave nothing behind; the routers that can match
requests (MATCHING_ROUTERS) also pass the A/B suite, and those that can copy them
(MIRROR_ROUTERS) the shadow suite."""
from __future__ import annotations

import json
import threading

import pytest
import urllib3

from bot.domain.model import Phase
from bot.domain.names import MATCHING_ROUTERS, MIRROR_ROUTERS, ROUTERS, STICKY_ROUTERS
from sandbox.seed import apps_yaml
from strategies.routers import router_classes
from tests.kit.world import NS, demo_world

N = 2000


def routed_apps(router: str) -> dict:
    doc = apps_yaml()
    doc["apps"]["user"]["router"] = router
    return doc


@pytest.fixture(params=ROUTERS)
def router(request):
    return request.param


@pytest.fixture(params=MATCHING_ROUTERS)
def matching_router(request):
    return request.param


def routed_world(sandbox, kube, redis_client, tmp_path, router):
    w = demo_world(sandbox, kube, redis_client, tmp_path, routed_apps(router))
    w.router = router
    w.http = urllib3.PoolManager()
    w.url = sandbox.url
    return w


@pytest.fixture(params=STICKY_ROUTERS)
def sticky_router(request):
    return request.param


@pytest.fixture
def sticky_world(sandbox, kube, redis_client, tmp_path, sticky_router):
    return routed_world(sandbox, kube, redis_client, tmp_path, sticky_router)


@pytest.fixture(params=MIRROR_ROUTERS)
def mirror_world(sandbox, kube, redis_client, tmp_path, request):
    return routed_world(sandbox, kube, redis_client, tmp_path, request.param)


@pytest.fixture
def world(sandbox, kube, redis_client, tmp_path, router):
    return routed_world(sandbox, kube, redis_client, tmp_path, router)


@pytest.fixture
def ab_world(sandbox, kube, redis_client, tmp_path, matching_router):
    return routed_world(sandbox, kube, redis_client, tmp_path, matching_router)


def test_every_listed_router_has_a_class_and_every_class_is_listed():
    assert tuple(router_classes()) == ROUTERS
    assert set(MATCHING_ROUTERS) <= set(ROUTERS)


def traffic(w, n=N, **params) -> dict:
    """n simulated requests through the sandbox's HTTP traffic endpoint."""
    fields = {"n": str(n), **params}
    if w.router == "istio":
        fields.setdefault("service", "user")
    else:
        if w.router == "gateway":
            fields.setdefault("gateway", "public")
        fields.setdefault("path", "/user")
    resp = w.http.request("GET", w.url + "/sandbox/traffic", fields=fields)
    return json.loads(resp.data)


def share(result: dict, version: str = "v2") -> float:
    return 100 * result["versions"].get(version, 0) / result["total"]


def leftovers(w) -> dict:
    return {"canary_ingress": w.kube.ingress(NS, "user-canary") is not None,
            "version_service": w.kube.service(NS, "user-v2") is not None,
            "vs_routes": [r.get("name") for r in ((w.kube.istio(NS, "virtualservices", "user") or {})
                                                  .get("spec", {}).get("http") or [])
                          if str(r.get("name", "")).startswith("graybot")],
            "route_rules": [r.get("name") for r in (w.kube.httproute(NS, "user") or {}).get("spec", {}).get("rules")
                            if str(r.get("name", "")).startswith("graybot")]}


NOTHING_LEFT = {"canary_ingress": False, "version_service": False, "vs_routes": [], "route_rules": []}


def tolerance(router: str) -> float:
    """Points off the weight allowed at N requests: the gateway balances round-robin (exact to a
    request); the others pick at random, and 4 points is ~3.9 sigma at 30% of 2,000."""
    return 3 if router == "gateway" else 4


def test_weighted_share_within_4_points_at_every_stage(world):
    w = world
    r = w.engine.settle(w.start("canary user-v2 10%").id, timeout=30)
    for weight in (10, 30, 50):
        assert (r.phase, r.current.weight) == (Phase.WAITING, weight)
        assert (w.replicas("user-v2"), w.replicas("user-v1")) == (r.current.new_replicas, r.current.old_replicas)
        result = traffic(w)
        assert result["unserved"] == 0 and abs(share(result) - weight) <= tolerance(w.router), (weight, result)
        w.act("approve user")
        r = w.engine.settle(r.id, timeout=30)
    assert r.phase == Phase.SUCCEEDED
    assert share(traffic(w)) == 100.0
    assert leftovers(w) == NOTHING_LEFT
    assert w.kube.deployment(NS, "user-v1") is None
    if w.router in ("nginx", "gateway"):    # they pin the stable Service by version
        assert w.selector("user") == {"app": "user", "version": "v2"}
    else:
        assert w.selector("user") == {"app": "user"}          # as before the release


def _run_traffic_during(w, action) -> list[dict]:
    results, stop = [], threading.Event()

    def pump():
        while not stop.is_set():
            results.append(traffic(w, n=20))
    thread = threading.Thread(target=pump)
    thread.start()
    try:
        action()
    finally:
        stop.set()
        thread.join(10)
    return results


def test_completion_drops_no_request(world):
    w = world
    r = w.engine.settle(w.start("canary user-v2 50%").id, timeout=30)
    w.act("approve user")
    results = _run_traffic_during(w, lambda: w.engine.settle(r.id, timeout=30))
    assert w.store.history("user")[0].phase == Phase.SUCCEEDED
    assert results and all(b["unserved"] == 0 for b in results), results
    assert leftovers(w) == NOTHING_LEFT


def test_rollback_drops_no_request_and_leaves_nothing(world):
    w = world
    r = w.engine.settle(w.start("canary user-v2 30%").id, timeout=30)
    assert abs(share(traffic(w)) - 30) <= 4

    def rollback():
        w.act("rollback user")
        w.engine.settle(r.id, timeout=30)
    results = _run_traffic_during(w, rollback)
    assert all(b["unserved"] == 0 for b in results), results
    assert w.store.history("user")[0].phase == Phase.ROLLED_BACK
    assert share(traffic(w)) == 0.0 and w.kube.deployment(NS, "user-v2") is None
    assert leftovers(w) == NOTHING_LEFT
    assert w.selector("user") == {"app": "user"} and w.replicas("user-v1") == 10


def test_ab_by_header(ab_world):
    w = ab_world
    r = w.engine.settle(w.start("ab user-v2 header:role=test").id, timeout=30)
    assert r.phase == Phase.WAITING and r.current.weight == 0
    assert share(traffic(w, n=300, header="role:test")) == 100.0
    assert share(traffic(w, n=300)) == 0.0
    assert share(traffic(w, n=300, header="role:other")) == 0.0
    if w.router == "nginx":     # with -value set, `always` is an ordinary value
        assert share(traffic(w, n=300, header="role:always")) == 0.0
    w.act("approve user")          # continues as a weighted canary, the rule kept
    r = w.engine.settle(r.id, timeout=30)
    assert r.current.weight == 10 and abs(share(traffic(w)) - 10) <= 4
    assert share(traffic(w, n=300, header="role:test")) == 100.0


def test_ab_by_cookie(ab_world):
    w = ab_world
    r = w.engine.settle(w.start("ab user-v2 cookie:vip_user").id, timeout=30)
    assert share(traffic(w, n=300, cookie="vip_user=always")) == 100.0
    assert share(traffic(w, n=300, cookie="vip_user=never")) == 0.0
    assert share(traffic(w, n=300)) == 0.0
    w.act("approve user --full")
    r = w.engine.settle(r.id, timeout=30)
    assert r.phase == Phase.SUCCEEDED and share(traffic(w, n=300)) == 100.0


def test_plan_shows_weights_and_the_match_rule(ab_world):
    from bot.core.service import run_text
    reply = run_text(ab_world.engine, "plan ab user-v2 header:role=test", "U1")
    assert "A/B header role=test" in reply.text and "match rule: header role=test" in reply.text
    assert f"router: {ab_world.router}" in reply.text and "traffic  10%" in reply.text


def test_sticky_keeps_returning_users_and_splits_new_ones(sticky_world):
    w = sticky_world
    r = w.engine.settle(w.start("canary user-v2 30% --sticky").id, timeout=30)
    visits = traffic(w, n=4000, users=800)
    assert visits["users"]["switched"] == 0, visits                 # nobody changed version
    first = 100 * visits["users"]["first"].get("v2", 0) / 800
    assert abs(first - 30) <= 6, visits                             # new visitors split by weight
    w.act("approve user")                                            # 50%: returning users stay put
    r = w.engine.settle(r.id, timeout=30)
    assert r.current.weight == 50
    assert share(traffic(w, n=300, cookie="graybot-user=v1")) == 0.0
    assert share(traffic(w, n=300, cookie="graybot-user=v2")) == 100.0
    w.act("approve user")                                            # 100%, then done
    assert w.engine.settle(r.id, timeout=30).phase == Phase.SUCCEEDED
    assert share(traffic(w, n=300, cookie="graybot-user=v1")) == 100.0   # stickiness went with the release
    assert "set_cookie" not in json.loads(w.http.request("GET", w.url + "/sandbox/request", fields={
        "path": "/user", "service": "user", **({"gateway": "public"} if w.router == "gateway" else {})}).data)
    assert leftovers(w) == NOTHING_LEFT


def test_a_shadow_copies_its_share_while_every_answer_comes_from_stable(mirror_world):
    w = mirror_world
    r = w.engine.settle(w.start("mirror user-v2 20% --for 1s").id, timeout=30)
    assert (r.phase, r.current.name, r.current.weight, r.current.mirror) == (Phase.WAITING, "shadow 20%", 0, 20)
    result = traffic(w)
    assert result["versions"] == {"v1": N}                                    # every answer from stable
    assert abs(100 * result["mirrored"].get("v2", 0) / N - 20) <= tolerance(w.router), result   # 20% copied
    w.act("approve user")                                                      # then the first real step
    r = w.engine.settle(r.id, timeout=30)
    assert (r.current.name, r.current.weight) == ("10%", 10)
    result = traffic(w)
    assert abs(share(result) - 10) <= tolerance(w.router) and not result["mirrored"]
    w.act("rollback user")
    assert w.engine.settle(r.id, timeout=30).phase == Phase.ROLLED_BACK
    assert leftovers(w) == NOTHING_LEFT
