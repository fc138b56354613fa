"""The only module that imports `kubernetes`: typed helpers over the official client.

Everything leaves here as plain dicts (the API's JSON), so strategies and the engine need no
client models. Reads skip model deserialisation (`_preload_content=False`); transient
failures (connection errors, 5xx, 429) are retried with backoff. Every call has a connect and a
read timeout: a hung API server costs one release one timeout, then the error goes up (the
driver retries on its next pass), and `reachable` tells the health report.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import time
from typing import Callable, TypeVar

import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from .kube_custom import CustomObjects
from .kube_network import Networking
from .kubeerrors import KubeError
from .mirror import Mirror

log = logging.getLogger("graybot.kube")
T = TypeVar("T")


RETRIABLE = (0, 429, 500, 502, 503, 504)
FIELD_MANAGER = "graybot"      # every write names it, so managedFields say who changed what


def _timed_out(exc: BaseException) -> bool:
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        exc = exc.reason or exc
    return isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError))


def selector_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


class RawWatch(watch.Watch):
    """A watch whose events carry the raw JSON only: the client would otherwise build a model
    object of every event (every pod's every change), which cost more than all else in a watch
    and made it fall seconds behind the API server under a busy release day."""

    def get_return_type(self, func):
        return None


class Kube(Networking, CustomObjects):
    def __init__(self, api: client.ApiClient, retries: int = 4, backoff: float = 0.2,
                 timeout: tuple[float, float] = (3.0, 5.0)):
        """`timeout`: (connect, read) seconds for every call; a watch reads for longer."""
        self.api = api
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.last_failure: tuple[float, str] | None = None     # (monotonic, what) of the last unreachable
        self.rejected: str | None = None      # the API server refused graybot's credentials (401/403) last
        self.name = ""                                          # the cluster's name in apps.yaml, for logs
        self.mirror = Mirror()                                  # what this process's watches have seen

    # The API groups, made at first use: importing one costs the client's models (~0.6 s each with
    # client 37), which a command that never calls the cluster (`graybot audit`) need not pay.
    apps = functools.cached_property(lambda self: client.AppsV1Api(self.api))
    core = functools.cached_property(lambda self: client.CoreV1Api(self.api))
    net = functools.cached_property(lambda self: client.NetworkingV1Api(self.api))
    custom = functools.cached_property(lambda self: client.CustomObjectsApi(self.api))

    @classmethod
    def from_config(cls, kubeconfig: str | None = None, backoff: float = 0.2,
                    timeout: tuple[float, float] = (3.0, 5.0), pool: int = 32, context: str = "",
                    in_cluster: bool = False) -> "Kube":
        """A kubeconfig (and a context in it), or the pod's service account with `in_cluster`;
        with neither, the in-cluster account if there is one, else ~/.kube/config."""
        cfg = client.Configuration()
        try:
            if in_cluster:
                config.load_incluster_config(client_configuration=cfg)
            elif kubeconfig:
                config.load_kube_config(config_file=kubeconfig, context=context or None,
                                        client_configuration=cfg)
            else:
                try:
                    config.load_incluster_config(client_configuration=cfg)
                except config.ConfigException:
                    config.load_kube_config(context=context or None, client_configuration=cfg)
        except (config.ConfigException, OSError) as exc:
            raise KubeError(0, "BadConfig", str(exc)) from None
        cfg.connection_pool_maxsize = pool      # the driver works on many releases at once
        cfg.retries = False                     # retries are ours (_call): a timeout is not retried
        return cls(client.ApiClient(cfg), backoff=backoff, timeout=timeout)

    def ping(self, read_timeout: float | None = None) -> str:
        """The API server's version (GET /version): raises KubeError when it does not answer
        (within `read_timeout`, if given: a healthy API server answers this in milliseconds)."""
        timeout = (self.timeout[0], min(self.timeout[1], read_timeout)) if read_timeout else self.timeout
        info = self._call(client.VersionApi(self.api).get_code, _request_timeout=timeout)
        return str(getattr(info, "git_version", "") or "")

    @property
    def reachable(self) -> bool:
        """False while the last call failed to reach the API server (cleared by a success)."""
        return self.last_failure is None

    def close(self) -> None:
        self.api.close()

    @property
    def _where(self) -> str:
        return f"{self.name}:" if self.name else ""

    # -- call plumbing ------------------------------------------------------------------
    def _call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        kwargs.setdefault("_request_timeout", self.timeout)
        for attempt in range(self.retries + 1):
            try:
                result = fn(*args, **kwargs)
            except ApiException as exc:
                if exc.status in (401, 403) and fn.__name__ != "get_code":
                    self.rejected = f"{exc.status} {exc.reason}"     # the probe may still answer anonymously
                if exc.status not in RETRIABLE or attempt == self.retries:
                    raise self._error(exc) from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if _timed_out(exc):   # one timeout is this call's whole budget; the driver retries
                    raise self._unreachable("Timeout", f"the API server did not answer within "
                                                       f"{self.timeout[1]:g}s") from None
                if attempt == self.retries:
                    raise self._unreachable("Unreachable", str(exc)) from None
            else:
                self.last_failure = None
                if fn.__name__ != "get_code":
                    self.rejected = None
                return result
            time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _unreachable(self, reason: str, message: str) -> KubeError:
        self.last_failure = (time.monotonic(), reason)
        return KubeError(0, reason, message)

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
        """A create, patch or replace, as FIELD_MANAGER."""
        resp = self._call(fn, *args, _preload_content=False, field_manager=FIELD_MANAGER, **kwargs)
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
            self._call(fn, *args, _preload_content=False)
            return True
        except KubeError as err:
            if err.status == 404:
                return False
            raise

    # -- Deployments --------------------------------------------------------------------
    def deployment(self, ns: str, name: str) -> dict | None:
        known, obj = self.mirror.get("deployments", ns, name)
        return obj if known else self._read(self.apps.read_namespaced_deployment, name, ns)

    def serves(self, group: str, version: str, plural: str) -> bool:
        """Whether the API server serves this resource (discovery): False when its CRD is not installed."""
        try:
            doc = self._call(self._discovery, f"/apis/{group}/{version}")
        except KubeError as err:
            if err.status == 404:
                return False
            raise
        return any(r.get("name") == plural for r in doc.get("resources") or [])

    def _discovery(self, path: str, _request_timeout=None) -> dict:
        method, url, headers, _body, _post = self.api.param_serialize("GET", path, auth_settings=["BearerToken"])
        resp = self.api.call_api(method, url, header_params=headers, _request_timeout=_request_timeout)
        resp.read()
        if resp.status >= 400:
            raise ApiException(status=resp.status, reason=resp.reason)
        return json.loads(resp.data)

    def replicaset(self, ns: str, name: str) -> dict | None:
        return self._read(self.apps.read_namespaced_replica_set, name, ns)

    def deployments(self, ns: str, labels: dict[str, str]) -> list[dict]:
        doc = self._read(self.apps.list_namespaced_deployment, ns, label_selector=selector_text(labels))
        return (doc or {}).get("items", [])

    def create_deployment(self, ns: str, body: dict) -> dict:
        name = body["metadata"]["name"]
        return self._wrote("deployments", ns, name, self._create(self.apps.create_namespaced_deployment, (ns,), body,
                                                                 lambda: self.deployment(ns, name)))

    def patch_deployment(self, ns: str, name: str, patch: dict | list) -> dict:
        kwargs = {"_content_type": "application/json-patch+json"} if isinstance(patch, list) else {}
        return self._wrote("deployments", ns, name,
                           self._write(self.apps.patch_namespaced_deployment, name, ns, patch, **kwargs))

    def scale(self, ns: str, name: str, replicas: int) -> None:
        # the Scale's resourceVersion is its Deployment's: the watch shows this write with it
        self._wrote("deployments", ns, name, self._write(self.apps.patch_namespaced_deployment_scale, name, ns,
                                                         {"spec": {"replicas": replicas}}))

    def delete_deployment(self, ns: str, name: str) -> bool:
        self.mirror.deleted("deployments", ns, name)
        return self._delete(self.apps.delete_namespaced_deployment, name, ns)

    def _wrote(self, plural: str, ns: str, name: str, response: dict) -> dict:
        self.mirror.wrote(plural, ns, name, response)
        return response

    # -- watches ------------------------------------------------------------------------
    def watch(self, plural: str, ns: str, on_event: Callable[[str, dict], None],
              stop: threading.Event, streams: set | None = None, timeout: int = 10) -> None:
        """List, then watch from that resourceVersion, resuming exactly; re-list on 410.
        Calls on_event(type, raw object) for ADDED/MODIFIED/DELETED until `stop` is set. The open
        stream is kept in `streams` while it runs: its owner's `stream.stop()` closes the
        connection at once (set `stop` first)."""
        streams = set() if streams is None else streams
        fn = {"pods": self.core.list_namespaced_pod, "deployments": self.apps.list_namespaced_deployment,
              "rollouts": self.list_namespaced_rollout, "kruise-rollouts": self.list_namespaced_kruise_rollout,
              "flagger-canaries": self.list_namespaced_flagger_canary, "services": self.core.list_namespaced_service,
              "httproutes": self.list_namespaced_httproute, "grpcroutes": self.list_namespaced_grpcroute,
              "ingresses": self.net.list_namespaced_ingress,
              "virtualservices": self.list_namespaced_virtualservice}[plural]
        rv, failures = None, 0
        while not stop.is_set():
            try:
                if rv is None:
                    doc = self._read(fn, ns) or {"items": [], "metadata": {}}
                    rv = doc["metadata"].get("resourceVersion")
                    self.mirror.listed(plural, ns, doc["items"])
                    for item in doc["items"]:
                        on_event("ADDED", item)
                stream = RawWatch()
                streams.add(stream)
                if stop.is_set():
                    break
                try:
                    rv, failures = self._follow(stream, plural, fn, ns, rv, timeout, on_event, stop), 0
                finally:
                    streams.discard(stream)
            except ApiException as exc:
                self.mirror.lost(plural, ns)
                if exc.status == 410:
                    rv = None            # too old: list again
                else:
                    failures += 1
                    log.warning("watch %s%s/%s: %s", self._where, ns, plural, exc.reason)
                    stop.wait(min(30.0, 0.5 * 2 ** failures))
            except (urllib3.exceptions.HTTPError, OSError, KubeError, ValueError) as exc:
                self.mirror.lost(plural, ns)
                if stop.is_set():
                    break
                failures += 1
                log.warning("watch %s%s/%s lost: %s", self._where, ns, plural, exc)
                stop.wait(min(30.0, 0.5 * 2 ** failures))     # reconnect with backoff
        self.mirror.lost(plural, ns)

    def _follow(self, stream: RawWatch, plural: str, fn: Callable, ns: str, rv: str | None, timeout: int,
                on_event: Callable[[str, dict], None], stop: threading.Event) -> str | None:
        """One watch request, until the server ends it or `stop`; returns the last resourceVersion."""
        for event in stream.stream(fn, ns, resource_version=rv, timeout_seconds=timeout, allow_watch_bookmarks=True,
                                   _request_timeout=(self.timeout[0], timeout + self.timeout[1])):
            raw = event.get("raw_object") or {}
            rv = (raw.get("metadata") or {}).get("resourceVersion") or rv
            if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                self.mirror.event(plural, ns, event["type"], raw)
                on_event(event["type"], raw)
            if stop.is_set():
                stream.stop()
                break
        return rv

    # -- Pods (Services and Ingresses: kube_network.py) -----------------------------------
    def pods(self, ns: str, labels: dict[str, str]) -> list[dict]:
        doc = self._read(self.core.list_namespaced_pod, ns, label_selector=selector_text(labels))
        return (doc or {}).get("items", [])

    def annotate(self, kind: str, ns: str, name: str, annotations: dict[str, str | None]) -> dict:
        """Set (None: remove) annotations on a Deployment or Service, nothing else."""
        fn = {"Deployment": self.apps.patch_namespaced_deployment, "Service": self.core.patch_namespaced_service}[kind]
        return self._wrote(f"{kind.lower()}s", ns, name, self._write(fn, name, ns, {"metadata": {"annotations": annotations}},
                                                                     _content_type="application/merge-patch+json"))
