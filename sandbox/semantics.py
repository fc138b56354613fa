"""What the apiserver does to an object between the request and storage: defaults,
validation, generation and the status/spec split (k/k pkg/apis/apps/v1/defaults.go,
pkg/apis/apps/validation, pkg/registry/apps/deployment/strategy.go)."""
from __future__ import annotations

import copy
import random

from . import gateway, grpcroute
from .errors import invalid
from .resources import Resource
from .selectors import match_labels


def _kv(d: dict | None) -> str:
    return "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted((d or {}).items())) + "}"


def default_pod_template(template: dict) -> None:
    spec = template.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for c in spec.get("containers") or []:
        image = c.get("image") or ""
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for p in c.get("ports") or []:
            p.setdefault("protocol", "TCP")


def default_deployment(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxSurge", "25%")
        ru.setdefault("maxUnavailable", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    template = spec.setdefault("template", {})
    template.setdefault("metadata", {})
    default_pod_template(template)


def default_service(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if "clusterIP" not in spec:
        spec["clusterIP"] = f"10.96.{random.randint(0, 255)}.{random.randint(1, 254)}"
        spec["clusterIPs"] = [spec["clusterIP"]]
    for p in spec.get("ports") or []:
        p.setdefault("protocol", "TCP")
        p.setdefault("targetPort", p.get("port"))
    obj.setdefault("status", {"loadBalancer": {}})


def _int_or_percent_zero(value: object) -> bool:
    return value in (0, "0", "0%")


def validate_deployment(obj: dict, old: dict | None) -> None:
    name = obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    causes: list[tuple[str, str]] = []
    selector = spec.get("selector")
    labels = (spec.get("template") or {}).get("metadata", {}).get("labels")
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
    elif not match_labels(selector, labels):
        causes.append(("spec.template.metadata.labels",
                       f"Invalid value: {_kv(labels)}: `selector` does not match template `labels`"))
    if old is not None and selector != old["spec"].get("selector"):
        causes.append(("spec.selector", f"Invalid value: v1.LabelSelector{{MatchLabels:"
                       f"{_kv((selector or {}).get('matchLabels'))}}}: field is immutable"))
    if not (spec.get("template") or {}).get("spec", {}).get("containers"):
        causes.append(("spec.template.spec.containers", "Required value"))
    if not isinstance(spec.get("replicas"), int) or spec["replicas"] < 0:
        causes.append(("spec.replicas", f"Invalid value: {spec.get('replicas')}: "
                       "must be greater than or equal to 0"))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate" and strategy.get("rollingUpdate") is not None:
        causes.append(("spec.strategy.rollingUpdate",
                       "Forbidden: may not be specified when strategy `type` is 'Recreate'"))
    ru = strategy.get("rollingUpdate") or {}
    if strategy.get("type") == "RollingUpdate" and _int_or_percent_zero(ru.get("maxSurge")) \
            and _int_or_percent_zero(ru.get("maxUnavailable")):
        causes.append(("spec.strategy.rollingUpdate.maxUnavailable",
                       "Invalid value: 0: may not be 0 when `maxSurge` is 0"))
    if causes:
        raise invalid("Deployment", "apps", name, causes)


def validate_ingress(obj: dict) -> None:
    causes = []
    for i, rule in enumerate((obj.get("spec") or {}).get("rules") or []):
        for j, path in enumerate((rule.get("http") or {}).get("paths") or []):
            if not path.get("pathType"):
                causes.append((f"spec.rules[{i}].http.paths[{j}].pathType", "Required value: "
                               "pathType must be specified"))
    if causes:
        raise invalid("Ingress", "networking.k8s.io", obj["metadata"]["name"], causes)


def prepare_create(res: Resource, obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    obj["apiVersion"], obj["kind"] = res.group_version, res.kind
    meta = obj.setdefault("metadata", {})
    meta["generation"] = 1
    for drop in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp"):
        meta.pop(drop, None)
    if res.plural == "deployments":
        default_deployment(obj)
        validate_deployment(obj, None)
        obj["status"] = {}
    elif res.plural == "services":
        default_service(obj)
    elif res.plural == "ingresses":
        validate_ingress(obj)
        obj.setdefault("status", {"loadBalancer": {}})
    elif res.plural == "httproutes":
        gateway.default_httproute(obj)
        gateway.validate_httproute(obj)
    elif res.plural == "grpcroutes":
        grpcroute.default_grpcroute(obj)
        grpcroute.validate_grpcroute(obj)
    if res.group == gateway.GROUP or (res.group, res.plural) in (("argoproj.io", "rollouts"),
                                                                 ("rollouts.kruise.io", "rollouts"),
                                                                 ("flagger.app", "canaries")):
        obj.pop("status", None)          # status subresource: a create cannot set it
    return obj


def _spec_of(obj: dict) -> dict:
    """Everything but metadata and status: what bumps the generation of a custom object."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def prepare_update(res: Resource, old: dict, new: dict, subresource: str | None) -> dict:
    """Merge a client's write into the stored object the way the registry strategies do."""
    new = copy.deepcopy(new)
    new["apiVersion"], new["kind"] = res.group_version, res.kind
    meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
    for keep in ("uid", "creationTimestamp", "namespace", "name", "generation", "ownerReferences"):
        if keep in old_meta and (keep != "ownerReferences" or "ownerReferences" not in meta):
            meta[keep] = old_meta[keep]
    if subresource == "status":
        merged = copy.deepcopy(old)
        merged["status"] = new.get("status", {})
        merged["metadata"]["resourceVersion"] = meta.get("resourceVersion")
        return merged
    if "status" in old or res.plural in ("deployments", "replicasets", "pods", "rollouts") or res.group == gateway.GROUP:
        new["status"] = copy.deepcopy(old.get("status", {}))
    if res.plural == "deployments":
        default_deployment(new)
        validate_deployment(new, old)
    elif res.plural == "services":
        new["spec"].setdefault("clusterIP", old["spec"].get("clusterIP"))
        default_service(new)
    elif res.plural == "ingresses":
        validate_ingress(new)
    elif res.plural == "httproutes":
        gateway.default_httproute(new)
        gateway.validate_httproute(new)
    elif res.plural == "grpcroutes":
        grpcroute.default_grpcroute(new)
        grpcroute.validate_grpcroute(new)
    changed = _spec_of(new) != _spec_of(old)
    if res.plural == "deployments":
        changed = new.get("spec") != old.get("spec") or \
            (meta.get("annotations") or {}) != (old_meta.get("annotations") or {})
    if changed:
        meta["generation"] = old_meta.get("generation", 1) + 1
    return new
