"""The sandbox's Deployment controller, observed through the official client over HTTP."""
from __future__ import annotations

import threading

from kubernetes import client, watch

from sandbox.seed import deployment
from tests.kit.wait import wait_until

NS = "default"


def create(apps: client.AppsV1Api, name: str, replicas: int, image: str, **spec) -> dict:
    body = deployment(name, "v1", replicas, name=name)
    body["spec"]["template"]["spec"]["containers"][0]["image"] = image
    body["spec"].update(spec)
    return apps.create_namespaced_deployment(NS, body)


def rollout_done(apps: client.AppsV1Api, name: str) -> bool:
    """kubectl's rollout status rule (rollout_status.go)."""
    d = apps.read_namespaced_deployment(name, NS)
    s = d.status
    return (d.metadata.generation <= (s.observed_generation or 0)
            and (s.updated_replicas or 0) >= d.spec.replicas
            and (s.replicas or 0) <= (s.updated_replicas or 0)
            and (s.available_replicas or 0) >= (s.updated_replicas or 0))


def ready_pods(core: client.CoreV1Api, selector: str) -> list:
    pods = core.list_namespaced_pod(NS, label_selector=selector).items
    return [p for p in pods if any(c.type == "Ready" and c.status == "True"
                                   for c in p.status.conditions or [])]


def test_ten_replicas_become_ten_ready_pods(kube):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    created = create(apps, "web", 10, "nginx:web-v1")
    assert created.metadata.generation == 1 and created.spec.strategy.type == "RollingUpdate"
    wait_until(lambda: len(ready_pods(core, "app=web")) == 10, message="10 ready pods")
    wait_until(lambda: rollout_done(apps, "web"))
    status = apps.read_namespaced_deployment_status("web", NS).status
    assert (status.replicas, status.ready_replicas, status.available_replicas) == (10, 10, 10)
    progressing = next(c for c in status.conditions if c.type == "Progressing")
    assert progressing.reason == "NewReplicaSetAvailable"
    rs = apps.list_namespaced_replica_set(NS, label_selector="app=web").items
    assert len(rs) == 1 and rs[0].metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    assert rs[0].metadata.owner_references[0].uid == created.metadata.uid


def test_surge_one_unavailable_zero_keeps_capacity_at_every_event(kube):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    create(apps, "web", 10, "nginx:web-v1",
           strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    wait_until(lambda: rollout_done(apps, "web") and len(ready_pods(core, "app=web")) == 10)
    live, ready, seen = {}, set(), []
    rv = core.list_namespaced_pod(NS, label_selector="app=web").metadata.resource_version
    for pod in core.list_namespaced_pod(NS, label_selector="app=web").items:
        live[pod.metadata.name] = pod
        ready.add(pod.metadata.name)

    def observe():
        for event in watch.Watch().stream(core.list_namespaced_pod, NS, label_selector="app=web",
                                          resource_version=rv, timeout_seconds=20):
            pod = event["object"]
            name = pod.metadata.name
            if event["type"] == "DELETED":
                live.pop(name, None)
                ready.discard(name)
            else:
                live[name] = pod
                is_ready = any(c.type == "Ready" and c.status == "True"
                               for c in pod.status.conditions or [])
                (ready.add if is_ready else ready.discard)(name)
            seen.append((len(live), len(ready)))
            images = {p.spec.containers[0].image for p in live.values()}
            if images == {"nginx:web-v2"} and len(ready) == 10:
                return

    watcher = threading.Thread(target=observe)
    watcher.start()
    apps.patch_namespaced_deployment("web", NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:web-v2"}]}}}})
    watcher.join(30)
    assert not watcher.is_alive()
    assert max(total for total, _ in seen) == 11, seen
    assert min(r for _, r in seen) >= 10, seen
    wait_until(lambda: rollout_done(apps, "web"))
    assert apps.read_namespaced_deployment("web", NS).metadata.annotations[
        "deployment.kubernetes.io/revision"] == "2"


def test_recreate_reaches_zero_old_pods_before_any_new_pod(kube):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    create(apps, "web", 4, "nginx:web-v1", strategy={"type": "Recreate"})
    wait_until(lambda: rollout_done(apps, "web"))
    rv = core.list_namespaced_pod(NS).metadata.resource_version
    apps.patch_namespaced_deployment("web", NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:web-v2"}]}}}})
    old, olds_at_first_new = 4, None
    for event in watch.Watch().stream(core.list_namespaced_pod, NS, resource_version=rv,
                                      timeout_seconds=15):
        image = event["object"].spec.containers[0].image
        if image == "nginx:web-v1" and event["type"] == "DELETED":
            old -= 1
        if image == "nginx:web-v2" and event["type"] == "ADDED" and olds_at_first_new is None:
            olds_at_first_new = old
            break
    assert olds_at_first_new == 0
    wait_until(lambda: rollout_done(apps, "web"))
    assert {p.spec.containers[0].image for p in ready_pods(core, "app=web")} == {"nginx:web-v2"}


def test_paused_deployment_does_not_move_until_resumed(kube, sandbox):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    create(apps, "web", 3, "nginx:web-v1")
    wait_until(lambda: rollout_done(apps, "web"))
    apps.patch_namespaced_deployment("web", NS, {"spec": {"paused": True}})
    apps.patch_namespaced_deployment("web", NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:web-v2"}]}}}})
    wait_until(lambda: next(c for c in apps.read_namespaced_deployment("web", NS).status.conditions
                            if c.type == "Progressing").reason == "DeploymentPaused")
    for _ in range(20):   # many controller passes
        sandbox.step()
    assert len(apps.list_namespaced_replica_set(NS, label_selector="app=web").items) == 1
    assert {p.spec.containers[0].image for p in core.list_namespaced_pod(NS).items} == {"nginx:web-v1"}
    assert not rollout_done(apps, "web")
    apps.patch_namespaced_deployment("web", NS, {"spec": {"paused": False}})
    wait_until(lambda: rollout_done(apps, "web"))
    assert {p.spec.containers[0].image for p in ready_pods(core, "app=web")} == {"nginx:web-v2"}


def test_broken_image_stalls_and_exceeds_progress_deadline(kube):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    create(apps, "web", 2, "nginx:web-v1", progressDeadlineSeconds=2)
    wait_until(lambda: rollout_done(apps, "web"))
    apps.patch_namespaced_deployment("web", NS, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:web-broken"}]}}}})

    def deadline_exceeded():
        conds = apps.read_namespaced_deployment("web", NS).status.conditions
        return any(c.type == "Progressing" and c.status == "False"
                   and c.reason == "ProgressDeadlineExceeded" for c in conds)
    wait_until(deadline_exceeded, timeout=15, message="ProgressDeadlineExceeded")
    broken = [p for p in core.list_namespaced_pod(NS).items
              if p.spec.containers[0].image == "nginx:web-broken"]
    assert broken and all(p.status.container_statuses[0].restart_count >= 1 for p in broken)
    assert broken[0].status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"
    assert len(ready_pods(core, "app=web")) >= 1   # maxUnavailable 25% of 2 -> 0 may go
    assert not rollout_done(apps, "web")


def test_scaling_event_resizes_the_only_replicaset(kube):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    create(apps, "web", 2, "nginx:web-v1")
    wait_until(lambda: rollout_done(apps, "web"))
    scale = apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 5}})
    assert scale.spec.replicas == 5 and scale.status.selector == "app=web,version=v1"
    wait_until(lambda: len(ready_pods(core, "app=web")) == 5 and rollout_done(apps, "web"))
    rs = apps.list_namespaced_replica_set(NS, label_selector="app=web").items
    assert [r.spec.replicas for r in rs] == [5]
    assert rs[0].metadata.annotations["deployment.kubernetes.io/desired-replicas"] == "5"
