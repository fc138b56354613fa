"""managedFields as the apiserver keeps them for Update operations: each write's manager
(`?fieldManager=`, else one named after the client) owns the fields it changed, taking them
from whoever owned them before; entries carry `fieldsV1` ({"f:spec": {"f:replicas": {}}}) and a
time. Enough for tools to tell who last changed a field (k8s.io/apiserver fieldmanager)."""
from __future__ import annotations

from .objstore import now_rfc3339

TRACKED = ("spec", "metadata")
META_TRACKED = ("labels", "annotations")


def _leaves(value, prefix: tuple = ()) -> set[tuple]:
    if isinstance(value, dict) and value:
        out: set[tuple] = set()
        for key, inner in value.items():
            out |= _leaves(inner, prefix + (key,))
        return out
    return {prefix}


def _owned_part(obj: dict | None, subresource: str | None = None) -> dict:
    if not obj:
        return {}
    if subresource == "status":
        return {"status": obj.get("status") or {}}
    meta = obj.get("metadata") or {}
    return {"spec": obj.get("spec") or {}, "metadata": {k: meta[k] for k in META_TRACKED if meta.get(k)}}


def changed_paths(old: dict | None, new: dict, subresource: str | None = None) -> set[tuple]:
    before, after = _leaves(_owned_part(old, subresource)), _leaves(_owned_part(new, subresource))
    values_old, values_new = _flatten(_owned_part(old, subresource)), _flatten(_owned_part(new, subresource))
    return {p for p in before | after if values_old.get(p) != values_new.get(p) and p != ("metadata",)}


def _flatten(doc: dict) -> dict[tuple, object]:
    out = {}
    for path in _leaves(doc):
        value = doc
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        out[path] = value
    return out


def to_fields(paths: set[tuple]) -> dict:
    root: dict = {}
    for path in sorted(paths):
        node = root
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return root


def from_fields(fields: dict, prefix: tuple = ()) -> set[tuple]:
    if not fields:
        return {prefix} if prefix else set()
    out: set[tuple] = set()
    for key, inner in fields.items():
        out |= from_fields(inner, prefix + (key[2:] if key.startswith("f:") else key,))
    return out


def record(old: dict | None, new: dict, manager: str, api_version: str, subresource: str | None = None) -> None:
    """Give `manager` the fields this write changed (in place on `new`); a write through the status
    subresource owns status fields, in an entry marked `subresource: status`."""
    changed = changed_paths(old, new, subresource)
    entries = [dict(e) for e in ((old or {}).get("metadata") or {}).get("managedFields") or []]
    kept = []
    for entry in entries:
        if entry.get("subresource") != subresource:
            kept.append(entry)              # the other part's owners keep what they own
            continue
        if entry["manager"] == manager:
            changed |= from_fields(entry.get("fieldsV1") or {})
            continue
        rest = from_fields(entry.get("fieldsV1") or {}) - changed
        if rest:
            kept.append(dict(entry, fieldsV1=to_fields(rest)))
    if changed:
        kept.append({"manager": manager, "operation": "Update", "apiVersion": api_version, "time": now_rfc3339(),
                     "fieldsType": "FieldsV1", "fieldsV1": to_fields(changed)}
                    | ({"subresource": subresource} if subresource else {}))
    new.setdefault("metadata", {})["managedFields"] = kept

