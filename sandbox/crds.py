"""CustomResourceDefinitions the sandbox serves (apiextensions.k8s.io/v1), for clients that read
a CRD's schema to learn what its API version accepts. Only HTTPRoute's is kept, in the three forms
a cluster can have: the standard channel (no `sessionPersistence`: an experimental field), the
experimental channel of v1.6 (`sessionName`, `cookieConfig`) and of gateway-api main after v1.6
(`cookie.name`, `header.name`; gateway-api apis/v1/shared_types.go)."""
from __future__ import annotations

SHAPES = {
    "standard": None,
    "v1.6": {"sessionName": {"type": "string", "maxLength": 128}, "absoluteTimeout": {"type": "string"},
             "idleTimeout": {"type": "string"}, "type": {"type": "string", "enum": ["Cookie", "Header"]},
             "cookieConfig": {"type": "object", "properties": {
                 "lifetimeType": {"type": "string", "enum": ["Permanent", "Session"]}}}},
    "current": {"absoluteTimeout": {"type": "string"}, "type": {"type": "string", "enum": ["Cookie", "Header"]},
                "cookie": {"type": "object", "properties": {
                    "name": {"type": "string"}, "path": {"type": "string"},
                    "lifetimeType": {"type": "string", "enum": ["Permanent", "Session"]}}},
                "header": {"type": "object", "properties": {"name": {"type": "string"}}}},
}


def httproute_crd(shape: str = "standard") -> dict:
    """The HTTPRoute CRD, its rules' schema reduced to what a client reads (and `sessionPersistence`
    as the given channel and version has it)."""
    rule = {"type": "object", "properties": {"name": {"type": "string"}, "matches": {"type": "array"},
                                             "filters": {"type": "array"}, "backendRefs": {"type": "array"}}}
    if SHAPES[shape] is not None:
        rule["properties"]["sessionPersistence"] = {"type": "object", "properties": SHAPES[shape]}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "parentRefs": {"type": "array"}, "hostnames": {"type": "array"},
        "rules": {"type": "array", "items": rule}}}, "status": {"type": "object"}}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "httproutes.gateway.networking.k8s.io",
                         "annotations": {"gateway.networking.k8s.io/channel":
                                         "standard" if shape == "standard" else "experimental"}},
            "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
                     "names": {"plural": "httproutes", "singular": "httproute", "kind": "HTTPRoute",
                               "listKind": "HTTPRouteList"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema}, "subresources": {"status": {}}}]}}
