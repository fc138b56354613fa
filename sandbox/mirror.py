"""Request mirroring as a data plane does it: a rule's `RequestMirror` filter (Gateway API,
Extended; `percent` since v1.2), or an Istio route's `mirror` with `mirrorPercentage`, sends a copy of that share of the rule's requests to its
backendRef and drops the copy's answer. The share is kept exactly (every fifth request for 20%),
as the Balancer keeps weights, so a test sees the rate it set. Copies are served, so they count
in the metrics (what a gate judges a shadow by) and never in what the user got."""
from __future__ import annotations

from typing import Callable


class Mirrors:
    def __init__(self):
        self.seen: dict[tuple, int] = {}        # (rule key, backend) -> requests so far

    def copy(self, rule: dict, key: tuple, namespace: str, serve: Callable[[str, str], dict]) -> dict | None:
        """The copy's (dropped) answer when this request is one the rule mirrors, else None."""
        for flt in rule.get("filters") or []:
            if flt.get("type") != "RequestMirror":
                continue
            mirror = flt.get("requestMirror") or {}
            ref = mirror.get("backendRef") or {}
            if self.take((key, ref.get("name")), _share(mirror)):
                return serve(ref.get("namespace") or namespace, ref["name"])
        return None

    def take(self, key: tuple, percent: float) -> bool:
        """Whether this request (the next under `key`) is one of the `percent` copied."""
        seen = self.seen[key] = self.seen.get(key, 0) + 1
        return int(seen * percent / 100) > int((seen - 1) * percent / 100)


def _share(mirror: dict) -> float:
    if "percent" in mirror:
        return float(mirror["percent"])
    fraction = mirror.get("fraction")
    if fraction:
        return 100.0 * fraction.get("numerator", 0) / (fraction.get("denominator") or 100)
    return 100.0          # no percent and no fraction: every request is mirrored
