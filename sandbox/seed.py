"""`--seed demo`: apps `user` (10 replicas) and `pay` (3 replicas) with Services and Ingresses,
a Gateway `public` with an HTTPRoute for `user`, and the matching apps.yaml."""
from __future__ import annotations

from pathlib import Path

import yaml

from .objstore import ObjectStore
from .semantics import prepare_create
from . import resources
from .crds import httproute_crd

DEMO_APPS = {"user": 10, "pay": 3}


def _create(store: ObjectStore, group: str, version: str, plural: str, obj: dict) -> None:
    res = resources.find(group, version, plural)
    assert res is not None
    store.create(resources.storage_key(res), prepare_create(res, obj))


def deployment(app: str, version: str, replicas: int, namespace: str = "default",
               name: str | None = None) -> dict:
    labels = {"app": app, "version": version}
    return {"metadata": {"name": name or f"{app}-{version}", "namespace": namespace,
                         "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": app, "image": f"nginx:{app}-{version}",
                                                           "ports": [{"containerPort": 80}]}]}}}}


def service(app: str, namespace: str = "default") -> dict:
    return {"metadata": {"name": app, "namespace": namespace, "labels": {"app": app}},
            "spec": {"selector": {"app": app},
                     "ports": [{"name": "http", "port": 80, "targetPort": 80}]}}


def ingress(app: str, namespace: str = "default") -> dict:
    backend = {"service": {"name": app, "port": {"number": 80}}}
    return {"metadata": {"name": app, "namespace": namespace},
            "spec": {"ingressClassName": "nginx",
                     "rules": [{"host": "demo.local", "http": {"paths": [
                         {"path": f"/{app}", "pathType": "Prefix", "backend": backend}]}}]}}


def gateway_class() -> dict:
    from .gateway import CONTROLLER
    return {"metadata": {"name": "sandbox"}, "spec": {"controllerName": CONTROLLER}}


def gateway(name: str = "public", namespace: str = "default") -> dict:
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"gatewayClassName": "sandbox",
                     "listeners": [{"name": "http", "port": 80, "protocol": "HTTP",
                                    "allowedRoutes": {"namespaces": {"from": "Same"}}}]}}


def httproute(app: str, namespace: str = "default", gateway_name: str = "public") -> dict:
    return {"metadata": {"name": app, "namespace": namespace, "labels": {"app": app}},
            "spec": {"parentRefs": [{"name": gateway_name}], "hostnames": ["demo.local"],
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": f"/{app}"}}],
                                "backendRefs": [{"name": app, "port": 80}]}]}}


def seed_gateway(store: ObjectStore, apps: list[str], namespace: str = "default") -> None:
    """GatewayClass `sandbox`, Gateway `public` and one HTTPRoute per app (path /APP)."""
    G = "gateway.networking.k8s.io"
    _create(store, "apiextensions.k8s.io", "v1", "customresourcedefinitions", httproute_crd())
    _create(store, G, "v1", "gatewayclasses", gateway_class())
    _create(store, G, "v1", "gateways", gateway(namespace=namespace))
    for app in apps:
        _create(store, G, "v1", "httproutes", httproute(app, namespace))


ERROR_RATE = ('(sum(rate(sandbox_requests_total{{app="{{app}}",version="{{version}}",code=~"5.."}}[{w}]))'
              ' or vector(0)) / sum(rate(sandbox_requests_total{{app="{{app}}",version="{{version}}"}}[{w}]))')


REQUESTS = 'sum(increase(sandbox_requests_total{{app="{{app}}",version="{{version}}"}}[{w}]))'


def error_rate_metric(window: str = "30s", max_ratio: float = 0.05) -> dict:
    return {"name": "error-rate", "query": ERROR_RATE.format(w=window), "max": max_ratio}


def fleet(count: int, replicas: int = 4) -> dict[str, int]:
    """`--seed fleet:N`: N apps `app-000`.. of `replicas` pods each (scale benchmarks)."""
    return {f"app-{i:03d}": replicas for i in range(count)}


def seed_apps(store: ObjectStore, config_dir: Path, apps: dict[str, int]) -> Path:
    for app, replicas in apps.items():
        _create(store, "apps", "v1", "deployments", deployment(app, "v1", replicas))
        _create(store, "", "v1", "services", service(app))
    path = Path(config_dir) / "apps.yaml"
    path.write_text(yaml.safe_dump(apps_yaml(apps=apps), sort_keys=False))
    return path


def apps_yaml(namespace: str = "default", metrics: bool = False, bake: str = "10s",
              apps: dict[str, int] | None = None) -> dict:
    """The demo registry; with `metrics`, an error-rate gate against the sandbox's query API."""
    gates = {"progress_deadline": "10m", "max_restarts": 1, "metrics": []}
    if metrics:
        gates.update(bake=bake, metrics=[error_rate_metric()])
    return {"apps": {app: {"namespace": namespace, "selector": {"app": app}, "service": app,
                           "ingress": app, "router": "replicas", "image": f"nginx:{app}-{{version}}",
                           "channels": [], "approvers": [], "requester_can_approve": True,
                           "gates": dict(gates)}
                     for app in (apps or DEMO_APPS)}}


def seed_demo(store: ObjectStore, config_dir: Path | None = None, metrics: bool = False) -> Path | None:
    for app, replicas in DEMO_APPS.items():
        _create(store, "apps", "v1", "deployments", deployment(app, "v1", replicas))
        _create(store, "", "v1", "services", service(app))
        _create(store, "networking.k8s.io", "v1", "ingresses", ingress(app))
    seed_gateway(store, ["user"])
    if config_dir is None:
        return None
    path = Path(config_dir) / "apps.yaml"
    path.write_text(yaml.safe_dump(apps_yaml(metrics=metrics), sort_keys=False))
    return path


ROLLOUT_STEPS = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "2s"}}]


def argo_rollout(app: str, version: str = "v1", replicas: int = 10, steps: list | None = None,
                 namespace: str = "default") -> dict:
    """An Argo Rollout with a basic canary (no traffic router): the pods' share is the weight."""
    labels = {"app": app}
    return {"metadata": {"name": app, "namespace": namespace, "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": app, "image": f"nginx:{app}-{version}",
                                                           "ports": [{"containerPort": 80}]}]}},
                     "strategy": {"canary": {"steps": list(ROLLOUT_STEPS if steps is None else steps)}}}}


def seed_rollout(store: ObjectStore, app: str = "shop", replicas: int = 10, steps: list | None = None) -> dict:
    """An app released by Argo Rollouts: its Rollout (run by sandbox/argo_rollouts.py) and Service;
    returns its apps.yaml entry."""
    _create(store, "argoproj.io", "v1alpha1", "rollouts", argo_rollout(app, replicas=replicas, steps=steps))
    _create(store, "", "v1", "services", service(app))
    return rollout_entry(app)


def rollout_entry(app: str = "shop") -> dict:
    """apps.yaml's entry of an app an Argo Rollout releases."""
    return {"namespace": "default", "selector": {"app": app}, "service": app, "workload": "argo-rollout",
            "image": f"nginx:{app}-{{version}}", "channels": [], "approvers": [], "requester_can_approve": True,
            "gates": {"progress_deadline": "10m", "max_restarts": 1, "metrics": []}}


KRUISE_STEPS = [{"replicas": 2, "pause": {}}, {"replicas": "50%", "pause": {}}, {"replicas": "100%", "pause": {}}]


def seed_kruise(store: ObjectStore, app: str = "cart", replicas: int = 4, steps: list | None = None) -> dict:
    """An app released by OpenKruise Rollouts: its Deployment, a Rollout (rollouts.kruise.io) of it
    (run by sandbox/kruise_rollouts.py) and a Service; returns its apps.yaml entry."""
    _create(store, "apps", "v1", "deployments", deployment(app, "v1", replicas, name=app))
    _create(store, "", "v1", "services", service(app))
    _create(store, "rollouts.kruise.io", "v1beta1", "rollouts", {
        "metadata": {"name": app, "namespace": "default"},
        "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                 "strategy": {"canary": {"steps": list(KRUISE_STEPS if steps is None else steps)}}}})
    return dict(rollout_entry(app), workload="kruise-rollout")


FLAGGER_HOOKS = ("confirm-rollout", "confirm-traffic-increase", "confirm-promotion", "rollback")


def flagger_canary(app: str, gates_url: str, token: str, cluster: str = "", step: int = 25, top: int = 50,
                   interval: str = "1s") -> dict:
    """A Flagger Canary of the Deployment `app` whose webhooks are graybot's gates at `gates_url`."""
    where = f"&cluster={cluster}" if cluster else ""
    return {"metadata": {"name": app, "namespace": "default"},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                     "service": {"port": 80},
                     "analysis": {"interval": interval, "threshold": 2, "stepWeight": step, "maxWeight": top,
                                  "webhooks": [{"name": f"graybot-{hook}", "type": hook, "timeout": "5s",
                                                "url": f"{gates_url}/flagger/gates/{hook}?token={token}{where}"}
                                               for hook in FLAGGER_HOOKS]}}}


def seed_flagger(store: ObjectStore, gates_url: str, token: str, app: str = "wallet", replicas: int = 4,
                 cluster: str = "") -> dict:
    """An app released by Flagger: its Deployment, Service and Canary (run by sandbox/flagger.py,
    calling graybot's gates at `gates_url`); returns its apps.yaml entry."""
    _create(store, "apps", "v1", "deployments", deployment(app, "v1", replicas, name=app))
    _create(store, "", "v1", "services", service(app))
    _create(store, "flagger.app", "v1beta1", "canaries", flagger_canary(app, gates_url, token, cluster))
    return flagger_entry(app)


def flagger_entry(app: str = "wallet", token_env: str = "FLAGGER_GATE_TOKEN") -> dict:
    """apps.yaml's entry of an app a Flagger Canary releases."""
    return dict(rollout_entry(app), workload="flagger-canary", flagger={"token_secret": token_env})
