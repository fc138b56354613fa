"""The gateway router over a GRPCRoute (apps.yaml `grpcroute:`), against the sandbox's Gateway API
over HTTP, with simulated gRPC calls routed by the GRPCRoute rules' precedence: weights 10 -> 100,
a segment by gRPC metadata, and a rollback that restores the route byte for byte."""
from __future__ import annotations

import json

import urllib3
from kubernetes import client

from bot.domain.model import Phase
from sandbox.seed import apps_yaml
from tests.kit.world import NS, demo_world

G, V = "gateway.networking.k8s.io", "v1"
USERS = {"name": "users", "matches": [{"method": {"service": "user.v1.Users"}}],
         "backendRefs": [{"name": "user", "port": 80}]}
HEALTH = {"name": "health", "matches": [{"method": {"service": "grpc.health.v1.Health"}}],
          "backendRefs": [{"name": "user", "port": 80}]}


def grpc_world(sandbox, kube, redis_client, tmp_path):
    doc = apps_yaml()
    doc["apps"]["user"].update(router="gateway", grpcroute="user-grpc", rule="users")
    doc["apps"]["user"].pop("httproute", None)
    w = demo_world(sandbox, kube, redis_client, tmp_path, doc)
    client.CustomObjectsApi(kube).create_namespaced_custom_object(G, V, NS, "grpcroutes", {
        "apiVersion": f"{G}/{V}", "kind": "GRPCRoute", "metadata": {"name": "user-grpc", "namespace": NS},
        "spec": {"parentRefs": [{"name": "public"}], "rules": [HEALTH, USERS]}})
    w.http, w.url = urllib3.PoolManager(), sandbox.url
    return w


def calls(w, n=2000, rpc="user.v1.Users/GetUser", **params) -> dict:
    resp = w.http.request("GET", w.url + "/sandbox/traffic", fields={"n": str(n), "gateway": "public", "grpc": rpc,
                                                                     **params})
    return json.loads(resp.data)


def share(result: dict) -> float:
    return 100 * result["versions"].get("v2", 0) / result["total"]


def grpcroute(w) -> dict:
    return w.kube.grpcroute(NS, "user-grpc")


def test_a_grpcroute_canary_goes_10_to_100(sandbox, kube, redis_client, tmp_path):
    w = grpc_world(sandbox, kube, redis_client, tmp_path)
    assert share(calls(w)) == 0.0
    r = w.engine.settle(w.start("canary user-v2 --steps 10,100").id, timeout=30)
    assert (r.phase, r.current.weight) == (Phase.WAITING, 10)
    rule = next(x for x in grpcroute(w)["spec"]["rules"] if x.get("name") == "users")
    assert [(ref["name"], ref["weight"]) for ref in rule["backendRefs"]] == [("user", 90), ("user-v2", 10)]
    assert abs(share(calls(w)) - 10) <= 3                        # 2,000 calls, within 3 points
    assert share(calls(w, rpc="grpc.health.v1.Health/Check")) == 0.0     # another rule: untouched
    w.act("approve user")
    r = w.engine.settle(r.id, timeout=60)
    assert r.phase == Phase.SUCCEEDED
    assert share(calls(w)) == 100.0
    rules = grpcroute(w)["spec"]["rules"]
    assert [ref["name"] for x in rules for ref in x["backendRefs"]] == ["user", "user"]
    assert w.selector("user") == {"app": "user", "version": "v2"}


def test_a_metadata_segment_and_a_rollback_that_restores_the_route_byte_for_byte(sandbox, kube, redis_client,
                                                                                  tmp_path):
    w = grpc_world(sandbox, kube, redis_client, tmp_path)
    before = grpcroute(w)
    r = w.engine.settle(w.start("ab user-v2 header:x-beta=yes").id, timeout=30)
    segment = next(x for x in grpcroute(w)["spec"]["rules"] if x.get("name") == "graybot-ab")
    assert segment["matches"] == [{"method": {"service": "user.v1.Users", "type": "Exact"},
                                   "headers": [{"type": "Exact", "name": "x-beta", "value": "yes"}]}]
    assert share(calls(w, n=200, header="x-beta:yes")) == 100.0
    assert share(calls(w, n=200, header="x-beta:no")) == 0.0
    w.act("rollback user")
    r = w.engine.settle(r.id, timeout=30)
    assert r.phase == Phase.ROLLED_BACK
    after = grpcroute(w)
    assert json.dumps(after["spec"], sort_keys=True) == json.dumps(before["spec"], sort_keys=True)
    assert after["metadata"].get("labels") == before["metadata"].get("labels")
    assert share(calls(w, n=200, header="x-beta:yes")) == 0.0
