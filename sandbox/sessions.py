"""Gateway API session persistence as a data plane plays it (GEP-1619): a rule with
`sessionPersistence` of type Cookie answers a new client with a cookie naming the backend it got,
and sends a client that returns with the cookie to that backend while it still has weight there.
Both shapes are read: v1.6's (`sessionName`, `cookieConfig`) and gateway-api main's (`cookie.name`)."""
from __future__ import annotations

import re


def cookie_name(rule: dict) -> str | None:
    """The session cookie's name, or None when the rule keeps no cookie sessions."""
    persistence = rule.get("sessionPersistence")
    if not persistence or persistence.get("type", "Cookie") != "Cookie":
        return None
    return (persistence.get("cookie") or {}).get("name") or persistence.get("sessionName") \
        or f"gw-session-{rule.get('name') or 'rule'}"


def pinned(rule: dict, headers: dict) -> dict | None:
    """The backendRef a returning client's cookie names, if it still takes traffic."""
    name = cookie_name(rule)
    jar = {k.lower(): v for k, v in headers.items()}.get("cookie", "")
    m = name and re.search(rf"(?:^|;\s*){re.escape(name)}=([^;]+)", jar)
    if not m:
        return None
    return next((r for r in rule.get("backendRefs") or [] if r["name"] == m.group(1) and r.get("weight", 1) > 0), None)


def set_cookie(rule: dict, ref: dict) -> str | None:
    name = cookie_name(rule)
    if name is None:
        return None
    persistence = rule["sessionPersistence"]
    lifetime = (persistence.get("cookie") or persistence.get("cookieConfig") or {}).get("lifetimeType", "Session")
    age = f"; Max-Age={_seconds(persistence.get('absoluteTimeout', '24h'))}" if lifetime == "Permanent" else ""
    return f"{name}={ref['name']}{age}; Path=/"


def _seconds(duration: str) -> int:
    total = 0
    for number, unit in re.findall(r"(\d+)(h|m|s|ms)", duration):
        total += int(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0}[unit]
    return total or 86400
