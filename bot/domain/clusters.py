"""Clusters in apps.yaml (pure): the `clusters:` section, and per app the clusters it runs in, its
default waves and its per-cluster overrides. Without a `clusters:` section there is one cluster,
`default`: KUBECONFIG (or in-cluster), as before the section existed."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .checks import unknown_keys
from .durations import parse_duration
from .names import IDENTITY, IDS_PROBLEM, ROUTERS

DEFAULT_CLUSTER = "default"
CLUSTER_KEYS = ("kubeconfig", "context", "in_cluster", "timeout", "prometheus")
# what a cluster may change of an app: where it lives, how many pods it plans for, how it routes
OVERRIDE_KEYS = ("namespace", "replicas", "router", "service", "ingress", "httproute", "grpcroute", "rule",
                 "approvers")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    kubeconfig: str = ""          # a path (relative to apps.yaml); "" with in_cluster: the pod's account
    context: str = ""             # a context in that kubeconfig; "" = its current-context
    in_cluster: bool = False
    timeout: float | None = None  # read timeout of every call to this cluster (else GRAYBOT_KUBE_READ_TIMEOUT)
    prometheus: str = ""          # this cluster's Prometheus, for the metric gates of waves in it

    def describe(self) -> str:
        if self.in_cluster:
            return "in-cluster"
        where = self.kubeconfig or "KUBECONFIG"
        return f"{where}" + (f" context {self.context}" if self.context else "")


@dataclass(frozen=True)
class Placement:
    """Where one app runs: clusters in order, default waves, and per-cluster overrides."""
    clusters: tuple[str, ...] = (DEFAULT_CLUSTER,)
    waves: tuple[str, ...] = ()
    overrides: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()

    def override(self, cluster: str) -> dict:
        return dict(dict(self.overrides).get(cluster, ()))


def parse_clusters(raw: object, base: Path | None, problems: list[str]) -> dict[str, ClusterSpec]:
    if raw is None:
        return {DEFAULT_CLUSTER: ClusterSpec(DEFAULT_CLUSTER)}
    if not isinstance(raw, dict) or not raw:
        problems.append("clusters: must map cluster names to {kubeconfig, context} or {in_cluster: true}")
        return {DEFAULT_CLUSTER: ClusterSpec(DEFAULT_CLUSTER)}
    out: dict[str, ClusterSpec] = {}
    for name, spec in raw.items():
        where = f"clusters.{name}"
        if not _NAME.match(str(name)):
            problems.append(f"{where}: cluster names must be DNS-1123 labels (lowercase, digits, '-')")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be {{kubeconfig: PATH, context: NAME}} or {{in_cluster: true}}")
            continue
        unknown_keys(spec, CLUSTER_KEYS, where, problems)
        in_cluster = spec.get("in_cluster", False)
        if not isinstance(in_cluster, bool):
            problems.append(f"{where}.in_cluster: must be true or false")
            in_cluster = False
        path = str(spec.get("kubeconfig") or "")
        if in_cluster and path:
            problems.append(f"{where}: give kubeconfig or in_cluster: true, not both")
        if not in_cluster and not path:
            problems.append(f"{where}: needs kubeconfig: PATH (with context: NAME) or in_cluster: true")
        if path and base is not None and not Path(path).is_absolute():
            path = str(base / path)
        timeout = parse_duration(str(spec["timeout"])) if "timeout" in spec else None
        if "timeout" in spec and not timeout:
            problems.append(f"{where}.timeout: {spec['timeout']!r} is not a duration like 5s")
        prometheus = str(spec.get("prometheus") or "")
        if prometheus and not prometheus.startswith(("http://", "https://")):
            problems.append(f"{where}.prometheus: must be an http(s):// URL, not {prometheus!r}")
        out[str(name)] = ClusterSpec(str(name), path, str(spec.get("context") or ""), in_cluster,
                                     float(timeout) if timeout else None, prometheus)
    return out


def _names(raw: object, where: str, known: dict[str, ClusterSpec], problems: list[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(n, str) for n in raw):
        problems.append(f"{where}: must be a list of cluster names")
        return ()
    if len(set(raw)) != len(raw):
        problems.append(f"{where}: a cluster is named twice")
    for name in raw:
        if name not in known:
            problems.append(f"{where}: {name!r} is not in clusters: ({', '.join(known)})")
    return tuple(raw)


def parse_placement(raw: dict, where: str, known: dict[str, ClusterSpec], problems: list[str]) -> Placement:
    """`clusters: [a, b]` or `clusters: {a: {}, b: {namespace: x, router: gateway}}`; `waves:`."""
    spec = raw.get("clusters")
    overrides: list = []
    clusters: tuple[str, ...]
    if spec is None:
        clusters = (next(iter(known)),)
    elif isinstance(spec, dict):
        clusters = _names(list(spec), f"{where}.clusters", known, problems)
        for name, override in spec.items():
            overrides.append((name, _override(override, f"{where}.clusters.{name}", problems)))
    else:
        clusters = _names(spec, f"{where}.clusters", known, problems)
    waves: tuple[str, ...] = ()
    if "waves" in raw:
        waves = _names(raw["waves"], f"{where}.waves", known, problems)
        for name in waves:
            if name in known and name not in clusters:
                problems.append(f"{where}.waves: {name!r} is not one of the app's clusters ({', '.join(clusters)})")
    return Placement(clusters, waves, tuple(overrides))


def _override(raw: object, where: str, problems: list[str]) -> tuple[tuple[str, object], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping of {', '.join(OVERRIDE_KEYS)}")
        return ()
    unknown_keys(raw, OVERRIDE_KEYS, where, problems)
    if "namespace" in raw and not _NAME.match(str(raw["namespace"])):
        problems.append(f"{where}.namespace: {raw['namespace']!r} is not a DNS-1123 label")
    if "router" in raw and raw["router"] not in ROUTERS:
        problems.append(f"{where}.router: {raw['router']!r} is not one of {', '.join(ROUTERS)}")
    if "replicas" in raw and (not isinstance(raw["replicas"], int) or isinstance(raw["replicas"], bool)
                              or not 1 <= raw["replicas"] <= 1000):
        problems.append(f"{where}.replicas: must be a whole number 1-1000 (the size this cluster's "
                        "release plans for; unset: the stable Deployment's size)")
    if "approvers" in raw:
        ids = raw["approvers"]
        if not isinstance(ids, list) or not all(IDENTITY.match(str(i)) for i in ids):
            problems.append(f"{where}.approvers: {IDS_PROBLEM}")
        else:
            raw = dict(raw, approvers=tuple(map(str, ids)))
    return tuple(sorted((str(k), v) for k, v in raw.items() if k in OVERRIDE_KEYS))
