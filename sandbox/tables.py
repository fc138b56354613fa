"""meta.k8s.io/v1 Table responses, so `kubectl get` prints the usual columns."""
from __future__ import annotations

import time
from datetime import datetime, timezone


def _age(obj: dict) -> str:
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    born = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    seconds = int(time.time() - born.timestamp())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2 or (unit == "m" and seconds >= 60):
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _col(name: str, kind: str = "string") -> dict:
    return {"name": name, "type": kind, "format": "name" if name == "Name" else "",
            "description": name, "priority": 0}


def _deployment_row(o: dict) -> list:
    s, spec = o.get("status") or {}, o.get("spec") or {}
    return [f"{s.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            s.get("updatedReplicas", 0), s.get("availableReplicas", 0)]


def _replicaset_row(o: dict) -> list:
    s = o.get("status") or {}
    return [o["spec"].get("replicas", 0), s.get("replicas", 0), s.get("readyReplicas", 0)]


def _pod_row(o: dict) -> list:
    statuses = (o.get("status") or {}).get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in statuses)
    waiting = next((c["state"]["waiting"].get("reason") for c in statuses
                    if "waiting" in (c.get("state") or {})), None)
    return [f"{ready}/{len(statuses) or 1}", waiting or (o.get("status") or {}).get("phase", ""),
            restarts]


def _service_row(o: dict) -> list:
    spec = o.get("spec") or {}
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP", ""), ports or "<none>"]


COLUMNS = {
    "deployments": ([_col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer")],
                    _deployment_row),
    "replicasets": ([_col("Desired", "integer"), _col("Current", "integer"),
                     _col("Ready", "integer")], _replicaset_row),
    "pods": ([_col("Ready"), _col("Status"), _col("Restarts", "integer")], _pod_row),
    "services": ([_col("Type"), _col("Cluster-IP"), _col("Port(s)")], _service_row),
}


def table(plural: str, items: list[dict], resource_version: str) -> dict:
    extra_cols, row_of = COLUMNS.get(plural, ([], lambda o: []))
    rows = []
    for o in items:
        meta = {k: v for k, v in o["metadata"].items() if k != "managedFields"}
        rows.append({"cells": [o["metadata"]["name"], *row_of(o), _age(o)],
                     "object": {"kind": "PartialObjectMetadata",
                                "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": [_col("Name"), *extra_cols, _col("Age")], "rows": rows}
