"""JSON patch (RFC 6902), merge patch (RFC 7386) and a table-driven strategic merge patch.

Strategic merge patch is merge patch plus keyed list merging for the list fields of the
built-in types that graybot and kubectl touch (kubernetes/api types.go patchMergeKey tags),
and the `$patch`, `$retainKeys`, `$setElementOrder/`, `$deleteFromPrimitiveList/` directives.
"""
from __future__ import annotations

import copy
import json

import jsonpatch

from .errors import bad_request, unprocessable

# list field name -> candidate merge keys; the first key present in the items is used
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "imagePullSecrets": ("name",),
    "ports": ("containerPort", "port"), "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",), "conditions": ("type",), "hostAliases": ("ip",),
    "tolerations": ("key",), "topologySpreadConstraints": ("topologyKey",),
    "ownerReferences": ("uid",),
}
_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def json_patch(doc: dict, body: object) -> dict:
    if not isinstance(body, list):
        raise bad_request("error decoding patch: json: cannot unmarshal object into Go value "
                          "of type []handlers.jsonPatchOp")
    try:
        return jsonpatch.apply_patch(doc, body)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError,
            IndexError, TypeError) as exc:
        raise unprocessable(f"the server rejected our request due to an error in our request: {exc}") from None


def merge_patch(doc: object, patch: object) -> object:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def merge_patch_object(doc: dict, body: object) -> dict:
    if not isinstance(body, dict):
        raise bad_request("error decoding patch: json: cannot unmarshal into Go value "
                          "of type map[string]interface {}")
    return merge_patch(doc, body)  # type: ignore[return-value]


def strategic_merge_patch(doc: dict, body: object) -> dict:
    if not isinstance(body, dict):
        raise bad_request("error decoding patch: json: cannot unmarshal into Go value "
                          "of type map[string]interface {}")
    return _smp_map(doc, body)


def _smp_map(doc: object, patch: dict) -> dict:
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return {}
    retain = patch.pop("$retainKeys", None)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if key.startswith(_ORDER):
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE):]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = _smp_map(result.get(key), value)
        elif isinstance(value, list) and key in MERGE_KEYS:
            result[key] = _smp_list(result.get(key) or [], value, MERGE_KEYS[key],
                                    patch.get(_ORDER + key))
        else:
            result[key] = _strip_directives(copy.deepcopy(value))
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_key(items: list, candidates: tuple[str, ...]) -> str | None:
    for key in candidates:
        if any(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def _smp_list(current: list, patch: list, candidates: tuple[str, ...], order: list | None) -> list:
    key = _merge_key(patch + current, candidates)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return _strip_directives(copy.deepcopy(patch))
    if any(i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if i.get("$patch") != "replace"]
    result = copy.deepcopy(current)
    for item in patch:
        idx = next((n for n, c in enumerate(result) if c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                result.pop(idx)
        elif idx is None:
            result.append(_strip_directives(item))
        else:
            result[idx] = _smp_map(result[idx], item)
    if order:
        rank = {json.dumps(o.get(key) if isinstance(o, dict) else o): n for n, o in enumerate(order)}
        result.sort(key=lambda i: rank.get(json.dumps(i.get(key)), len(rank)))
    return result


def _strip_directives(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items()
                if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value
