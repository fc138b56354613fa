"""Argo CD's view of an Application whose `spec.source.repoURL` is a repository on the sandbox's
Git host (gitserver.py): the manifests under `spec.source.path` at the head of
`spec.source.targetRevision` are the desired state, compared as Argo CD's diff does (a field Git
sets must have that value live; fields Git leaves out, such as defaults, are not compared), and a
new revision is applied when `syncPolicy.automated` is on (drift is put back only with
`selfHeal`). Objects Git lists that the cluster lacks are OutOfSync and created by a sync; objects
carrying the Application's tracking mark that Git does not list are OutOfSync (pruning is not
simulated). The sync status names the revision compared against."""
from __future__ import annotations

import yaml

KIND_KEYS = {"Deployment": ("apps", "deployments"), "Service": ("", "services")}


def desired(host, app: dict) -> tuple[str, dict[tuple, dict]] | None:
    """(revision, {(storage key, namespace, name): manifest}) when the Application's source is on
    `host`; None when it is not (the controller then keeps its in-memory copy of Git)."""
    source = app["spec"].get("source") or {}
    name = host.name_of(str(source.get("repoURL") or "")) if host is not None else None
    if name is None:
        return None
    branch = str(source.get("targetRevision") or "HEAD")
    revision = host.repos.head(name, "main" if branch == "HEAD" else branch)
    if revision is None:
        return "", {}
    namespace = (app["spec"].get("destination") or {}).get("namespace") or "default"
    found: dict[tuple, dict] = {}
    for path, text in sorted(host.repos.files(name, revision, str(source.get("path") or "")).items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict) and doc.get("kind") in KIND_KEYS:
                meta = doc.get("metadata") or {}
                found[(KIND_KEYS[doc["kind"]], meta.get("namespace") or namespace, meta.get("name"))] = doc
    return revision, found


def covers(want: object, live: object) -> bool:
    """Every value Git sets is live (maps by key, lists item by item and of the same length)."""
    if isinstance(want, dict):
        return isinstance(live, dict) and all(covers(v, live.get(k)) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(live, list) and len(want) == len(live) and all(map(covers, want, live))
    return want == live


def overlay(live: object, want: object) -> object:
    """What a sync leaves: Git's values over the live object's (defaults the server set stay)."""
    if isinstance(want, dict) and isinstance(live, dict):
        return dict(live, **{k: overlay(live.get(k), v) for k, v in want.items()})
    if isinstance(want, list) and isinstance(live, list) and len(want) == len(live):
        return [overlay(a, b) for a, b in zip(live, want)]
    return want
