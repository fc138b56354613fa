"""The sandbox plays Gateway API as a conformant implementation would: the CRD's defaults and
validation, status conditions for the route's generation, and routing by specificity."""
from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sandbox.seed import gateway, gateway_class
from tests.kit.wait import wait_until

NS, G, V = "default", "gateway.networking.k8s.io", "v1"


def prefix(value: str) -> dict:
    return {"path": {"type": "PathPrefix", "value": value}}


def rule(service: str, *matches: dict) -> dict:
    return {"matches": list(matches) or [prefix("/")], "backendRefs": [{"name": service, "port": 80}]}


@pytest.fixture
def gw(kube):
    objects = client.CustomObjectsApi(kube)
    objects.create_cluster_custom_object(G, V, "gatewayclasses", gateway_class())
    objects.create_namespaced_custom_object(G, V, NS, "gateways", gateway())
    return objects


def make_route(objects, name: str, rules: list[dict], namespace: str = NS, **parent) -> dict:
    body = {"apiVersion": f"{G}/{V}", "kind": "HTTPRoute", "metadata": {"name": name, "namespace": namespace},
            "spec": {"parentRefs": [{"name": "public", "namespace": NS, **parent}], "rules": rules}}
    return objects.create_namespaced_custom_object(G, V, namespace, "httproutes", body)


def conditions(objects, name: str, namespace: str = NS) -> dict:
    route = objects.get_namespaced_custom_object(G, V, namespace, "httproutes", name)
    gen = route["metadata"]["generation"]
    return {c["type"]: (c["status"], c["reason"]) for p in (route.get("status") or {}).get("parents", [])
            for c in p["conditions"] if c["observedGeneration"] == gen}


def served_by(sandbox, path: str, **params) -> str:
    resp = urllib3.PoolManager().request("GET", sandbox.url + "/sandbox/request",
                                         fields={"gateway": "public", "path": path, **params})
    return json.loads(resp.data).get("service", "")


def test_defaults_and_validation_follow_the_crd(gw):
    created = make_route(gw, "web", [{"backendRefs": [{"name": "web", "port": 80}]}])
    assert created["spec"]["rules"][0]["matches"] == [prefix("/")]
    assert created["spec"]["rules"][0]["backendRefs"][0] == {"name": "web", "port": 80, "group": "",
                                                             "kind": "Service", "weight": 1}
    assert created["spec"]["parentRefs"][0]["kind"] == "Gateway" and "status" not in created
    with pytest.raises(ApiException) as err:
        make_route(gw, "bad", [{"backendRefs": [{"name": "web", "port": 80, "weight": -1}]}])
    assert err.value.status == 422 and "weight" in json.loads(err.value.body)["message"]


def test_status_reports_accepted_and_resolved_refs_for_the_current_generation(kube, gw):
    client.CoreV1Api(kube).create_namespaced_service(NS, {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"port": 80}]}})
    make_route(gw, "web", [rule("web")])
    wait_until(lambda: conditions(gw, "web") == {"Accepted": ("True", "Accepted"),
                                                  "ResolvedRefs": ("True", "ResolvedRefs")}, timeout=5)
    gw.patch_namespaced_custom_object(G, V, NS, "httproutes", "web", {"spec": {"rules": [rule("missing")]}})
    wait_until(lambda: conditions(gw, "web").get("ResolvedRefs") == ("False", "BackendNotFound"), timeout=5)
    route = gw.get_namespaced_custom_object(G, V, NS, "httproutes", "web")
    assert route["metadata"]["generation"] == 2                  # status writes do not bump it
    gw.patch_namespaced_custom_object(G, V, NS, "httproutes", "web",
                                      {"spec": {"parentRefs": [{"name": "public", "sectionName": "https"}]}})
    wait_until(lambda: conditions(gw, "web").get("Accepted") == ("False", "NoMatchingParent"), timeout=5)


def test_a_route_from_another_namespace_is_not_allowed_by_a_same_namespace_listener(kube, gw):
    client.CoreV1Api(kube).create_namespace({"metadata": {"name": "team-b"}})
    make_route(gw, "web", [rule("web")], namespace="team-b")
    wait_until(lambda: conditions(gw, "web", "team-b").get("Accepted") == ("False", "NotAllowedByListeners"),
               timeout=5)


def test_routing_follows_the_specification_precedence_not_list_order(sandbox, gw):
    make_route(gw, "web", [
        rule("root"),
        rule("api", prefix("/api")),
        rule("exact", {"path": {"type": "Exact", "value": "/api/v1"}}),
        rule("posts", dict(prefix("/api"), method="POST")),
        rule("beta", dict(prefix("/api"), headers=[{"name": "x-beta", "value": "1"}])),
        rule("region", dict(prefix("/api"), headers=[{"name": "x-region", "type": "RegularExpression",
                                                      "value": "^eu-"}])),
        rule("query", dict(prefix("/api"), queryParams=[{"name": "debug", "value": "on"}])),
    ])
    wait_until(lambda: served_by(sandbox, "/") == "root", timeout=5)
    assert served_by(sandbox, "/apix") == "root"                 # prefixes match whole path elements
    assert served_by(sandbox, "/api/users") == "api"
    assert served_by(sandbox, "/api/v1") == "exact"              # exact beats every prefix
    assert served_by(sandbox, "/api/v1", method="POST") == "exact"
    assert served_by(sandbox, "/api/users", method="POST") == "posts"   # a method beats headers
    assert served_by(sandbox, "/api/users", header="x-beta:1") == "beta"
    assert served_by(sandbox, "/api/users", query="debug=on") == "query"
    assert served_by(sandbox, "/api/users", header="x-beta:2") == "api"
    assert served_by(sandbox, "/api/users", header="x-region:eu-west") == "region"
    assert served_by(sandbox, "/api/users", header="x-region:us-eu-1") == "api"   # anchored regex


def test_a_missing_backend_answers_500_and_weight_zero_gets_nothing(sandbox, gw):
    make_route(gw, "web", [{"matches": [prefix("/")], "backendRefs": [
        {"name": "gone", "port": 80, "weight": 1}, {"name": "off", "port": 80, "weight": 0}]}])
    answer = lambda: json.loads(urllib3.PoolManager().request(  # noqa: E731
        "GET", sandbox.url + "/sandbox/request", fields={"gateway": "public", "path": "/"}).data)
    wait_until(lambda: answer()["status"] != 404, timeout=5)     # accepted: the route serves
    assert answer() == {"status": 500, "error": "backend Service gone not found", "service": "gone"}
