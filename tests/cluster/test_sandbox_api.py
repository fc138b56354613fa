"""The sandbox speaks the Kubernetes REST API the way the official client expects."""
from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from sandbox.objstore import ObjectStore
from sandbox.seed import deployment, ingress, service

NS = "default"
VS = dict(group="networking.istio.io", version="v1beta1", namespace=NS, plural="virtualservices")


def test_stale_resource_version_gets_409(kube):
    apps = client.AppsV1Api(kube)
    first = apps.create_namespaced_deployment(NS, deployment("web", "v1", 1, name="web"))
    apps.patch_namespaced_deployment("web", NS, {"metadata": {"labels": {"team": "a"}}})
    first.spec.replicas = 3
    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment("web", NS, first)
    body = json.loads(err.value.body)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"].startswith('Operation cannot be fulfilled on deployments.apps "web"')
    assert apps.read_namespaced_deployment("web", NS).spec.replicas == 1


def test_errors_are_status_objects(kube):
    apps = client.AppsV1Api(kube)
    with pytest.raises(ApiException) as err:
        apps.read_namespaced_deployment("nope", NS)
    body = json.loads(err.value.body)
    assert (err.value.status, body["reason"], body["details"]) == (
        404, "NotFound", {"name": "nope", "group": "apps", "kind": "deployments"})
    assert body["message"] == 'deployments.apps "nope" not found'
    apps.create_namespaced_deployment(NS, deployment("web", "v1", 1, name="web"))
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(NS, deployment("web", "v1", 1, name="web"))
    assert json.loads(err.value.body)["reason"] == "AlreadyExists"


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["spec"]["template"]["metadata"]["labels"].update(app="other"),
     "spec.template.metadata.labels"),
    (lambda d: d["spec"].update(strategy={"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
     "spec.strategy.rollingUpdate.maxUnavailable"),
])
def test_invalid_deployment_is_422_and_not_stored(kube, mutate, field):
    apps = client.AppsV1Api(kube)
    body = deployment("web", "v1", 1, name="web")
    mutate(body)
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(NS, body)
    status = json.loads(err.value.body)
    assert err.value.status == 422 and status["details"]["causes"][0]["field"] == field
    assert apps.list_namespaced_deployment(NS).items == []


def test_selector_is_immutable(kube):
    apps = client.AppsV1Api(kube)
    apps.create_namespaced_deployment(NS, deployment("web", "v1", 1, name="web"))
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("web", NS, {"spec": {
            "selector": {"matchLabels": {"version": "v2"}},
            "template": {"metadata": {"labels": {"version": "v2"}}}}})
    assert err.value.status == 422 and "field is immutable" in json.loads(err.value.body)["message"]


def test_strategic_merge_patch_merges_containers_by_name_and_keeps_retain_keys(kube):
    apps = client.AppsV1Api(kube)
    body = deployment("web", "v1", 1, name="web")
    body["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1"})
    apps.create_namespaced_deployment(NS, body)
    patched = apps.patch_namespaced_deployment("web", NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:web-v2"}]}}}})
    images = {c.name: c.image for c in patched.spec.template.spec.containers}
    assert images == {"web": "nginx:web-v2", "sidecar": "envoy:1"}
    assert patched.metadata.generation == 2
    with pytest.raises(ApiException) as err:   # rollingUpdate is kept: real apiserver says 422
        apps.patch_namespaced_deployment("web", NS, {"spec": {"strategy": {"type": "Recreate"}}})
    assert err.value.status == 422
    done = apps.patch_namespaced_deployment("web", NS, {"spec": {"strategy": {
        "type": "Recreate", "$retainKeys": ["type"]}}})
    assert done.spec.strategy.type == "Recreate" and done.spec.strategy.rolling_update is None


def test_services_and_ingresses_crud(kube):
    core, net = client.CoreV1Api(kube), client.NetworkingV1Api(kube)
    core.create_namespaced_service(NS, service("web"))
    svc = core.patch_namespaced_service("web", NS, {"spec": {"selector": {"version": "v2"}}})
    assert svc.spec.selector == {"app": "web", "version": "v2"}
    created = net.create_namespaced_ingress(NS, ingress("web"))
    assert created.spec.rules[0].http.paths[0].path_type == "Prefix"
    status = kube.sanitize_for_serialization(net.delete_namespaced_ingress("web", NS))
    assert status["status"] == "Success" and status["details"]["kind"] == "ingresses"
    assert net.list_namespaced_ingress(NS).items == []


def test_custom_objects_follow_apiextensions_rules(kube):
    crd = client.CustomObjectsApi(kube)
    vs = {"apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
          "metadata": {"name": "web"},
          "spec": {"hosts": ["web"], "http": [{"route": [{"destination": {"host": "web"}}]}]}}
    created = crd.create_namespaced_custom_object(body=vs, **VS)
    assert created["metadata"]["uid"] and created["metadata"]["generation"] == 1
    merged = crd.patch_namespaced_custom_object(name="web", body={"spec": {"hosts": ["web", "x"]}}, **VS)
    assert merged["spec"]["hosts"] == ["web", "x"] and merged["metadata"]["generation"] == 2
    patched = crd.patch_namespaced_custom_object(
        name="web", body=[{"op": "add", "path": "/spec/http/0/route/0/weight", "value": 100}],
        _content_type="application/json-patch+json", **VS)
    assert patched["spec"]["http"][0]["route"][0]["weight"] == 100
    with pytest.raises(ApiException) as err:
        crd.patch_namespaced_custom_object(name="web", body={"spec": {}},
                                           _content_type="application/strategic-merge-patch+json", **VS)
    assert err.value.status == 415
    no_rv = dict(patched, metadata={"name": "web"})
    with pytest.raises(ApiException) as err:
        crd.replace_namespaced_custom_object(name="web", body=no_rv, **VS)
    assert err.value.status == 422 and "must be specified for an update" in err.value.body
    deleted = crd.delete_namespaced_custom_object(name="web", **VS)
    assert deleted["status"] == "Success"


def test_watch_sees_added_modified_deleted_in_order(kube):
    core = client.CoreV1Api(kube)
    rv = core.list_namespaced_service(NS).metadata.resource_version
    core.create_namespaced_service(NS, service("web"))
    core.patch_namespaced_service("web", NS, {"metadata": {"labels": {"tier": "front"}}})
    core.delete_namespaced_service("web", NS)
    events = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_service, NS, resource_version=rv, timeout_seconds=1)]
    assert events == [("ADDED", "web"), ("MODIFIED", "web"), ("DELETED", "web")]


def test_watch_reports_objects_entering_and_leaving_the_selector(kube):
    core = client.CoreV1Api(kube)
    rv = core.list_namespaced_service(NS).metadata.resource_version
    core.create_namespaced_service(NS, service("web"))
    core.patch_namespaced_service("web", NS, {"metadata": {"labels": {"tier": "front"}}})
    core.patch_namespaced_service("web", NS, {"metadata": {"labels": {"tier": None}}})
    events = [e["type"] for e in watch.Watch().stream(
        core.list_namespaced_service, NS, label_selector="tier=front", resource_version=rv,
        timeout_seconds=1)]
    assert events == ["ADDED", "DELETED"]


def test_watch_from_an_expired_resource_version_gets_410(sandbox, kube):
    sandbox.store._log = type(sandbox.store._log)(maxlen=5)   # a short history, to expire quickly
    core = client.CoreV1Api(kube)
    rv = core.list_namespaced_service(NS).metadata.resource_version
    for i in range(10):
        core.create_namespaced_service(NS, service(f"web{i}"))
    with pytest.raises(ApiException) as err:
        list(watch.Watch().stream(core.list_namespaced_service, NS, resource_version=rv,
                                  timeout_seconds=1))
    assert err.value.status == 410


def test_send_initial_events_is_refused_not_ignored(sandbox):
    http = urllib3.PoolManager()
    resp = http.request("GET", sandbox.url + "/apis/apps/v1/namespaces/default/deployments"
                        "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan")
    assert resp.status == 422 and "WatchList feature gate" in json.loads(resp.data)["message"]


def test_body_without_content_type_is_json_and_create_is_201(sandbox):
    http = urllib3.PoolManager()
    resp = http.request("POST", sandbox.url + "/api/v1/namespaces/default/services",
                        body=json.dumps(service("web")).encode())
    assert resp.status == 201 and resp.headers["Content-Type"] == "application/json"
    assert json.loads(resp.data)["metadata"]["resourceVersion"].isdigit()


def test_store_expires_history_beyond_its_bound():
    store = ObjectStore(history=3)
    for i in range(6):
        store.create(("", "configmaps"), {"metadata": {"name": f"c{i}", "namespace": NS}})
    with pytest.raises(Exception) as err:
        store.events_after(100)
    assert getattr(err.value, "code", None) == 410
    assert [e.obj["metadata"]["name"] for e in store.events_after(store.resource_version - 2)] == ["c4", "c5"]


def test_a_writes_field_manager_is_its_own_whatever_other_clients_do_meanwhile(sandbox, kube):
    """Requests are served on many threads: a GET of a client that names no manager, arriving
    while graybot's write is served, must not sign that write with its User-Agent."""
    import threading
    client.AppsV1Api(kube).create_namespaced_deployment("default", deployment("race", "v1", 1))
    http, url = urllib3.PoolManager(maxsize=6), f"{sandbox.url}/apis/apps/v1/namespaces/default/deployments/race-v1"
    done = threading.Event()

    def readers() -> None:
        while not done.is_set():
            http.request("GET", url, headers={"User-Agent": "OpenAPI-Generator/37.0.0/python"})
    threads = [threading.Thread(target=readers, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for replicas in range(2, 82):
            answer = http.request("PATCH", url + "?fieldManager=graybot", body=json.dumps({"spec": {"replicas": replicas}}),
                                  headers={"Content-Type": "application/merge-patch+json"})
            owners = {e["manager"] for e in json.loads(answer.data)["metadata"]["managedFields"]
                      if "f:replicas" in (e.get("fieldsV1") or {}).get("f:spec", {})}
            assert owners == {"graybot"}, replicas
    finally:
        done.set()
        for t in threads:
            t.join(5)
