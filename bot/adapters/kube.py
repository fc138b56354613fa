"""The only module that imports `kubernetes`: typed helpers over the official client.

Everything leaves here as plain dicts (the API's JSON), so strategies and the engine need no
client models. Reads skip model deserialisation (`_preload_content=False`); transient
failures (connection errors, 5xx, 429) are retried with backoff.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable, TypeVar

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("graybot.kube")
T = TypeVar("T")


class KubeError(Exception):
    def __init__(self, status: int, reason: str, message: str):
        super().__init__(f"{status} {reason}: {message}")
        self.status, self.reason, self.message = status, reason, message


def selector_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


class Kube:
    def __init__(self, api: client.ApiClient, retries: int = 4, backoff: float = 0.2):
        self.api = api
        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)
        self.net = client.NetworkingV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.retries, self.backoff = retries, backoff

    @classmethod
    def from_config(cls, kubeconfig: str | None = None, backoff: float = 0.2) -> "Kube":
        if kubeconfig:
            return cls(config.new_client_from_config(config_file=kubeconfig), backoff=backoff)
        try:
            config.load_incluster_config()
            return cls(client.ApiClient(), backoff=backoff)
        except config.ConfigException:
            return cls(config.new_client_from_config(), backoff=backoff)

    def close(self) -> None:
        self.api.close()

    # -- call plumbing ------------------------------------------------------------------
    def _call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        for attempt in range(self.retries + 1):
            try:
                return fn(*args, **kwargs)
            except ApiException as exc:
                retriable = exc.status in (429, 500, 502, 503, 504) or exc.status == 0
                if not retriable or attempt == self.retries:
                    raise self._error(exc) from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if attempt == self.retries:
                    raise KubeError(0, "Unreachable", str(exc)) from None
            time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _error(exc: ApiException) -> KubeError:
        try:
            body = json.loads(exc.body or "{}")
        except ValueError:
            body = {}
        return KubeError(exc.status or 0, body.get("reason") or str(exc.reason),
                         body.get("message") or str(exc.reason))

    def _read(self, fn: Callable, *args, **kwargs) -> dict | None:
        """GET as raw JSON; None on 404."""
        try:
            resp = self._call(fn, *args, _preload_content=False, **kwargs)
        except KubeError as err:
            if err.status == 404:
                return None
            raise
        return json.loads(resp.data)

    def _write(self, fn: Callable, *args, **kwargs) -> dict:
        resp = self._call(fn, *args, _preload_content=False, **kwargs)
        return json.loads(resp.data) if resp.data else {}

    def _create(self, fn: Callable, args: tuple, body: dict, existing: Callable[[], dict | None]) -> dict:
        """Create, or return the existing object of that name (re-running a step converges)."""
        try:
            return self._write(fn, *args, body)
        except KubeError as err:
            if err.status == 409 and err.reason == "AlreadyExists":
                return existing() or {}
            raise

    def _delete(self, fn: Callable, *args) -> bool:
        """Delete; False when it was already gone."""
        try:
            self._write(fn, *args)
            return True
        except KubeError as err:
            if err.status == 404:
                return False
            raise

    # -- Deployments --------------------------------------------------------------------
    def deployment(self, ns: str, name: str) -> dict | None:
        return self._read(self.apps.read_namespaced_deployment, name, ns)

    def deployments(self, ns: str, labels: dict[str, str]) -> list[dict]:
        doc = self._read(self.apps.list_namespaced_deployment, ns, label_selector=selector_text(labels))
        return (doc or {}).get("items", [])

    def create_deployment(self, ns: str, body: dict) -> dict:
        return self._create(self.apps.create_namespaced_deployment, (ns,), body,
                            lambda: self.deployment(ns, body["metadata"]["name"]))

    def patch_deployment(self, ns: str, name: str, patch: dict | list) -> dict:
        kwargs = {"_content_type": "application/json-patch+json"} if isinstance(patch, list) else {}
        return self._write(self.apps.patch_namespaced_deployment, name, ns, patch, **kwargs)

    def scale(self, ns: str, name: str, replicas: int) -> None:
        self._write(self.apps.patch_namespaced_deployment_scale, name, ns,
                    {"spec": {"replicas": replicas}})

    def delete_deployment(self, ns: str, name: str) -> bool:
        return self._delete(self.apps.delete_namespaced_deployment, name, ns)

    # -- watches ------------------------------------------------------------------------
    def watch(self, plural: str, ns: str, on_event: Callable[[str, dict], None],
              stop: threading.Event, timeout: int = 10) -> None:
        """List, then watch from that resourceVersion, resuming exactly; re-list on 410.
        Calls on_event(type, raw object) for ADDED/MODIFIED/DELETED until `stop` is set."""
        fn = {"pods": self.core.list_namespaced_pod,
              "deployments": self.apps.list_namespaced_deployment}[plural]
        rv = None
        while not stop.is_set():
            try:
                if rv is None:
                    doc = self._read(fn, ns) or {"items": [], "metadata": {}}
                    rv = doc["metadata"].get("resourceVersion")
                    for item in doc["items"]:
                        on_event("ADDED", item)
                stream = watch.Watch()
                for event in stream.stream(fn, ns, resource_version=rv, timeout_seconds=timeout,
                                           allow_watch_bookmarks=True):
                    raw = event.get("raw_object") or {}
                    rv = (raw.get("metadata") or {}).get("resourceVersion") or rv
                    if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                        on_event(event["type"], raw)
                    if stop.is_set():
                        stream.stop()
                        break
            except ApiException as exc:
                if exc.status == 410:
                    rv = None            # too old: list again
                else:
                    log.warning("watch %s/%s: %s", ns, plural, exc.reason)
                    stop.wait(1)
            except (urllib3.exceptions.HTTPError, OSError, KubeError) as exc:
                log.warning("watch %s/%s lost: %s", ns, plural, exc)
                stop.wait(1)

    # -- Pods and Services --------------------------------------------------------------
    def pods(self, ns: str, labels: dict[str, str]) -> list[dict]:
        doc = self._read(self.core.list_namespaced_pod, ns, label_selector=selector_text(labels))
        return (doc or {}).get("items", [])

    def service(self, ns: str, name: str) -> dict | None:
        return self._read(self.core.read_namespaced_service, name, ns)

    def set_service_selector(self, ns: str, name: str, selector: dict[str, str]) -> dict:
        """Replace the selector whole (a merge patch could only add keys)."""
        return self._write(self.core.patch_namespaced_service, name, ns,
                           [{"op": "replace", "path": "/spec/selector", "value": selector}],
                           _content_type="application/json-patch+json")

    def create_service(self, ns: str, body: dict) -> dict:
        return self._create(self.core.create_namespaced_service, (ns,), body,
                            lambda: self.service(ns, body["metadata"]["name"]))

    def delete_service(self, ns: str, name: str) -> bool:
        return self._delete(self.core.delete_namespaced_service, name, ns)

    # -- Ingresses (ingress-nginx canary) -----------------------------------------------
    def ingress(self, ns: str, name: str) -> dict | None:
        return self._read(self.net.read_namespaced_ingress, name, ns)

    def create_ingress(self, ns: str, body: dict) -> dict:
        return self._create(self.net.create_namespaced_ingress, (ns,), body,
                            lambda: self.ingress(ns, body["metadata"]["name"]))

    def patch_ingress(self, ns: str, name: str, patch: dict) -> dict:
        return self._write(self.net.patch_namespaced_ingress, name, ns, patch)

    def delete_ingress(self, ns: str, name: str) -> bool:
        return self._delete(self.net.delete_namespaced_ingress, name, ns)

    # -- Istio custom objects ------------------------------------------------------------
    ISTIO = ("networking.istio.io", "v1beta1")
    ISTIO_PLURALS = ("virtualservices", "destinationrules")    # what the RBAC must grant

    def istio(self, ns: str, plural: str, name: str) -> dict | None:
        group, version = self.ISTIO
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, plural, name)

    def create_istio(self, ns: str, plural: str, body: dict) -> dict:
        group, version = self.ISTIO
        return self._create(self.custom.create_namespaced_custom_object, (group, version, ns, plural), body,
                            lambda: self.istio(ns, plural, body["metadata"]["name"]))

    def merge_istio(self, ns: str, plural: str, name: str, patch: dict) -> dict:
        """Merge patch (CRs take no strategic merge); lists in it replace whole lists."""
        group, version = self.ISTIO
        return self._write(self.custom.patch_namespaced_custom_object, group, version, ns, plural,
                           name, patch, _content_type="application/merge-patch+json")
