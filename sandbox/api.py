"""The Kubernetes REST API over the object store: routing, CRUD, patch, scale, status, watch."""
from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Iterator

from . import managed, patching, resources, semantics
from .errors import ApiError, already_exists, bad_request, conflict, not_found, \
    unprocessable, unsupported_media, method_not_allowed
from .objstore import ObjectStore
from .resources import Resource
from .selectors import field_selector, label_selector, selector_string

# registries with ReturnDeletedObject (k/k pkg/registry/core/{pod,service}/storage)
RETURN_DELETED_OBJECT = {"pods", "services"}
CR_PATCH_TYPES = ("application/json-patch+json, application/merge-patch+json, "
                  "application/apply-patch+yaml")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: object
    agent: str = ""          # the User-Agent: the field manager when none is named


@dataclass
class Route:
    res: Resource
    namespace: str
    name: str | None
    sub: str | None


def parse_route(path: str) -> Route | None:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    res = resources.find(group, version, rest[0])
    if res is None:
        return None
    return Route(res, namespace, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)


class KubeApi:
    def __init__(self, store: ObjectStore):
        self.store = store
        self.stopping = threading.Event()

    # -- entry point ------------------------------------------------------------------
    def handle(self, req: Request, route: Route) -> tuple[int, dict]:
        res = route.res
        if route.sub and route.sub not in res.subresources:
            raise not_found(res.plural, res.group, route.name or "")
        with self.store.lock:
            # the apiserver names an unnamed manager after the client's User-Agent product token;
            # set under the store's lock: requests run on many threads, and a GET of another client
            # between this and the write would otherwise sign the write with its name
            self.manager = req.query.get("fieldManager") or req.agent.split("/")[0] or "unknown"
            if route.name is None:
                if req.method == "GET":
                    return 200, self.list(route, req.query)
                if req.method == "POST":
                    return self.create(route, req)
                raise method_not_allowed("the server does not allow this method on the requested resource")
            if req.method == "GET":
                return 200, self.get(route)
            if req.method == "PUT":
                return 200, self.replace(route, req.body)
            if req.method == "PATCH":
                return 200, self.patch(route, req)
            if req.method == "DELETE":
                return 200, self.delete(route, req)
        raise method_not_allowed("the server does not allow this method on the requested resource")

    # -- reads ------------------------------------------------------------------------
    def _skey(self, res: Resource) -> tuple[str, str]:
        return resources.storage_key(res)

    def _load(self, route: Route) -> dict:
        obj = self.store.get(self._skey(route.res), route.namespace, route.name or "")
        if obj is None:
            raise not_found(route.res.plural, route.res.group, route.name or "")
        return obj

    def get(self, route: Route) -> dict:
        obj = self._load(route)
        return scale_of(obj) if route.sub == "scale" else obj

    def matching(self, route: Route, query: dict[str, str]) -> list[dict]:
        labels = label_selector(query.get("labelSelector"))
        fields = field_selector(query.get("fieldSelector"))
        # filter before copying: a selector list costs by its answer, not by the namespace
        return self.store.list(self._skey(route.res), route.namespace or None,
                               where=lambda o: labels(o) and fields(o))

    def list(self, route: Route, query: dict[str, str]) -> dict:
        return {"kind": f"{route.res.kind}List", "apiVersion": route.res.group_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": self.matching(route, query)}

    # -- writes -----------------------------------------------------------------------
    def _require_namespace(self, route: Route) -> None:
        if route.res.namespaced and self.store.get(("", "namespaces"), "", route.namespace) is None:
            raise not_found("namespaces", "", route.namespace)

    def create(self, route: Route, req: Request) -> tuple[int, dict]:
        body = req.body
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format")
        self._require_namespace(route)
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if not meta.get("name"):
            raise unprocessable(f"{route.res.kind} \"\" is invalid: metadata.name: Required value: "
                                "name or generateName is required")
        meta["namespace"] = route.namespace if route.res.namespaced else None
        if not route.res.namespaced:
            meta.pop("namespace")
        obj = semantics.prepare_create(route.res, body)
        if self.store.get(self._skey(route.res), route.namespace, meta["name"]) is not None:
            raise already_exists(route.res.plural, route.res.group, meta["name"])
        if req.query.get("dryRun") == "All":
            return 201, obj
        managed.record(None, obj, self.manager, route.res.group_version)
        return 201, self.store.create(self._skey(route.res), obj)

    def _check_rv(self, route: Route, current: dict, new: dict) -> None:
        sent = (new.get("metadata") or {}).get("resourceVersion")
        if sent not in (None, "") and sent != current["metadata"]["resourceVersion"]:
            raise conflict(route.res.plural, route.res.group, route.name or "")

    def _save(self, route: Route, current: dict, new: dict, dry_run: bool = False) -> dict:
        self._check_rv(route, current, new)
        if route.sub == "scale":
            replicas = (new.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise unprocessable(f'Scale.autoscaling "{route.name}" is invalid: spec.replicas: '
                                    f"Invalid value: {replicas}: must be greater than or equal to 0")
            target = copy.deepcopy(current)
            target["spec"]["replicas"] = replicas
            stored = semantics.prepare_update(route.res, current, target, None)
        else:
            stored = semantics.prepare_update(route.res, current, new, route.sub)
        stored["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        managed.record(current, stored, getattr(self, "manager", "unknown-client"), route.res.group_version,
                       "status" if route.sub == "status" else None)
        if not dry_run:
            stored = self.store.update(self._skey(route.res), stored)
        return scale_of(stored) if route.sub == "scale" else stored

    def replace(self, route: Route, body: object) -> dict:
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format")
        current = self._load(route)
        if route.res.custom and not (body.get("metadata") or {}).get("resourceVersion"):
            raise unprocessable(f'{route.res.kind}.{route.res.group} "{route.name}" is invalid: '
                                "metadata.resourceVersion: Invalid value: 0x0: must be specified "
                                "for an update")
        return self._save(route, current, body)

    def patch(self, route: Route, req: Request) -> dict:
        current = self._load(route)
        base = scale_of(current) if route.sub == "scale" else current
        base = copy.deepcopy(base)
        kind = req.content_type.split(";")[0].strip()
        if kind == "application/json-patch+json":
            new = patching.json_patch(base, req.body)
        elif kind == "application/merge-patch+json":
            new = patching.merge_patch_object(base, req.body)
        elif kind == "application/strategic-merge-patch+json" and not route.res.custom:
            new = patching.strategic_merge_patch(base, req.body)
        else:
            accepted = CR_PATCH_TYPES if route.res.custom else \
                CR_PATCH_TYPES + ", application/strategic-merge-patch+json"
            raise unsupported_media("the body of the request was in an unknown format - accepted "
                                    f"media types include: {accepted}")
        if (new.get("metadata") or {}).get("resourceVersion") == current["metadata"]["resourceVersion"]:
            new["metadata"].pop("resourceVersion")
        return self._save(route, current, new, req.query.get("dryRun") == "All")

    def delete(self, route: Route, req: Request) -> dict:
        current = self._load(route)
        if req.query.get("dryRun") != "All":
            current = self.store.delete(self._skey(route.res), route.namespace, route.name or "")
        if route.res.plural in RETURN_DELETED_OBJECT:
            return current
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": route.name, "group": route.res.group,
                            "kind": route.res.plural, "uid": current["metadata"]["uid"]}}

    # -- watch ------------------------------------------------------------------------
    def watch(self, route: Route, query: dict[str, str]) -> Iterator[dict]:
        if query.get("sendInitialEvents") == "true":
            raise unprocessable("ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: "
                                "Forbidden: sendInitialEvents is forbidden for watch unless the "
                                "WatchList feature gate is enabled")
        labels = label_selector(query.get("labelSelector"))
        fields = field_selector(query.get("fieldSelector"))
        rv_text = query.get("resourceVersion") or "0"
        if not rv_text.isdigit():
            raise bad_request(f"invalid resourceVersion {rv_text!r}")
        return self._watch_stream(route, lambda o: labels(o) and fields(o), int(rv_text),
                                  float(query.get("timeoutSeconds") or 1800))

    def _watch_stream(self, route: Route, pred, rv: int, timeout: float) -> Iterator[dict]:
        skey, deadline = self._skey(route.res), time.monotonic() + timeout
        with self.store.lock:
            if rv == 0:
                initial = self.store.list(skey, route.namespace or None, where=pred)
                rv = self.store.resource_version
            else:
                initial = []
        for obj in initial:
            yield {"type": "ADDED", "object": obj}
        while not self.stopping.is_set() and time.monotonic() < deadline:
            with self.store.lock:
                try:
                    events = self.store.events_after(rv)
                except ApiError as err:
                    yield {"type": "ERROR", "object": err.status()}
                    return
                if not events:
                    self.store.changed.wait(min(0.5, max(0.0, deadline - time.monotonic())))
                    continue
            for event in events:
                rv = event.rv
                out = self._project(event, skey, route.namespace, pred)
                if out:
                    yield out

    @staticmethod
    def _project(event, skey, namespace: str, pred) -> dict | None:
        obj = event.obj
        if event.skey != skey or (namespace and obj["metadata"].get("namespace") != namespace):
            return None
        now = pred(obj)
        before = pred(event.old) if event.old is not None else now
        if event.type == "MODIFIED" and now != before:
            return {"type": "ADDED" if now else "DELETED", "object": obj}
        return {"type": event.type, "object": obj} if now else None


def scale_of(deploy: dict) -> dict:
    meta = deploy["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                 "creationTimestamp") if k in meta},
            "spec": {"replicas": deploy["spec"].get("replicas", 0)},
            "status": {"replicas": (deploy.get("status") or {}).get("replicas", 0),
                       "selector": selector_string(deploy["spec"].get("selector"))}}


def decode_body(raw: bytes) -> object:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request("error decoding request body: invalid JSON") from None
