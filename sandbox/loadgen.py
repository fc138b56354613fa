"""Steady background requests, like a load generator in front of the cluster, so metric gates
have data (`graybot sandbox --traffic-rps`): every Ingress path, and each HTTPRoute rule's first
path through the Gateway that accepted it."""
from __future__ import annotations

import threading

from . import gateway as G
from .traffic import ING, P, Traffic, _rules


class TrafficGenerator:
    """Steady background requests on every Ingress path, like a load generator in front of
    the cluster, so metric gates have data (`graybot sandbox --traffic-rps`)."""

    def __init__(self, traffic: Traffic, rps: float, segment: dict | None = None, segment_share: float = 0.0):
        """`segment`: {"headers": {...}, "cookies": {...}} a `segment_share` of requests carry
        (the users of an A/B segment), so A/B gates have data."""
        self.traffic, self.rps = traffic, rps
        self.segment, self.segment_share = segment or {}, segment_share
        self._stop = threading.Event()

    def start(self) -> "TrafficGenerator":
        if self.rps > 0:
            threading.Thread(target=self._run, name="sandbox-traffic", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def targets(self) -> list[dict]:
        """request() arguments: each Ingress path, and each HTTPRoute rule's first path through
        the Gateway that accepted it (so releases by either router show in the metrics)."""
        seen: list[dict] = []
        for ing in self.traffic.store.list(ING):
            if (ing["metadata"].get("annotations") or {}).get(P + "canary") == "true":
                continue
            for host, path, _svc in _rules(ing):
                seen.append({"namespace": ing["metadata"]["namespace"], "host": host, "path": path})
        for route in self.traffic.store.peek(G.ROUTE):
            ns = route["metadata"]["namespace"]
            for parent in (route.get("status") or {}).get("parents") or []:
                for rule in route["spec"].get("rules") or []:
                    match = (rule.get("matches") or [{}])[0]
                    seen.append({"namespace": ns, "gateway": parent["parentRef"]["name"],
                                 "path": (match.get("path") or {}).get("value", "/"),
                                 "host": (route["spec"].get("hostnames") or [""])[0]})
        unique = []
        for target in seen:
            if target not in unique:
                unique.append(target)
        return unique

    def _run(self) -> None:
        period, carry = 0.1, 0.0
        while not self._stop.wait(period):
            carry += self.rps * period
            count, carry = int(carry), carry - int(carry)
            for target in self.targets():
                for _ in range(count):
                    if self.segment and self.traffic.rng.random() < self.segment_share:
                        self.traffic.request(**target, headers=self.segment.get("headers"),
                                             cookies=self.segment.get("cookies"))
                    else:
                        self.traffic.request(**target)
