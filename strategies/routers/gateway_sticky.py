"""Keeping a visitor on one version behind the gateway router (`--sticky`): the HTTPRoute rule's
own `sessionPersistence` where the CRD serves it (either shape), else graybot's cookie rules: both
backendRefs set a cookie naming the version, and two rules send returning visitors back."""
from __future__ import annotations

import copy

from bot.adapters.kube import Kube, KubeError

STICKY_AGE = 86400


def sticky_cookie(app: str) -> str:
    return f"graybot-{app}"


def cookie_header(name: str, value: str) -> dict:
    """Gateway API has no cookie match: match the Cookie header with a regular expression."""
    return {"type": "RegularExpression", "name": "Cookie", "value": rf"(^|;\s*){name}={value}(;|$)"}


def persistence_shape(kube: Kube) -> str:
    """Which `sessionPersistence` the HTTPRoute CRD serves: "current" (gateway-api main after v1.6:
    `cookie.name`), "v1.6" (`sessionName`, `cookieConfig`), or "" (none: the standard channel, an
    older CRD, or one graybot may not read); an API server prunes fields its CRD does not declare."""
    try:
        crd = kube.crd("httproutes.gateway.networking.k8s.io")
    except KubeError:
        return ""
    for version in (crd or {}).get("spec", {}).get("versions") or []:
        if version.get("name") != "v1" or not version.get("served"):
            continue
        schema = ((version.get("schema") or {}).get("openAPIV3Schema") or {}).get("properties") or {}
        rule = (((schema.get("spec") or {}).get("properties") or {}).get("rules") or {}).get("items") or {}
        fields = ((rule.get("properties") or {}).get("sessionPersistence") or {}).get("properties") or {}
        return "current" if "cookie" in fields else "v1.6" if "sessionName" in fields else ""
    return ""


def session_persistence(shape: str, cookie: str) -> dict:
    """A permanent cookie session (a day, as graybot's own cookie rules keep it) in `shape`."""
    if shape == "current":
        return {"type": "Cookie", "absoluteTimeout": "24h", "cookie": {"name": cookie, "lifetimeType": "Permanent"}}
    return {"type": "Cookie", "sessionName": cookie, "absoluteTimeout": "24h",
            "cookieConfig": {"lifetimeType": "Permanent"}}


def set_cookie(ref: dict, cookie: str, value: str) -> dict:
    ref = copy.deepcopy(ref)
    ref["filters"] = list(ref.get("filters") or []) + [{
        "type": "ResponseHeaderModifier", "responseHeaderModifier": {"add": [
            {"name": "Set-Cookie", "value": f"{cookie}={value}; Max-Age={STICKY_AGE}; Path=/"}]}}]
    return ref


