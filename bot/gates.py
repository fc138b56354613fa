"""Health and metric gates.

Health is watched: one pod watch per namespace, shared by all releases, turns a crash-looping
or over-restarting new pod into a failed gate at once (Flagger instead checks once per
interval and needs `threshold` failures). Metrics are Prometheus HTTP API queries run at the
end of each stage's bake time; no data or a query error is *inconclusive*: a human decides.
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable

from .kube import Kube
from .model import Phase, Release
from .settings import AppSpec, Metric, Registry

log = logging.getLogger("graybot.gates")
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


@dataclass(frozen=True)
class Verdict:
    result: str              # pass | fail | inconclusive
    evidence: str


def pod_failure(pod: dict, max_restarts: int) -> str | None:
    """Why this pod fails the health gate, with the evidence, or None."""
    name = pod["metadata"]["name"]
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        restarts = cs.get("restartCount", 0)
        reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason", "")
        if reason == "CrashLoopBackOff" or restarts > max_restarts:
            why = f" ({reason})" if reason else ""
            return (f"pod {name}: container {cs['name']} restarted {restarts} time(s){why}; "
                    f"max_restarts is {max_restarts}")
    return None


def pod_of_release(release: Release, app: AppSpec, pod: dict) -> bool:
    """Is this one of the pods the release brings in (the new version's)?"""
    labels = pod["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in app.labels.items()):
        return False
    if release.new_name != release.stable_name:
        return labels.get("version") == release.to_version
    return any(c.get("image") == release.image for c in pod["spec"].get("containers") or [])


class MetricGate:
    def __init__(self, prometheus_url: str, timeout: float = 5.0):
        self.url, self.timeout = prometheus_url.rstrip("/"), timeout

    def query(self, text: str) -> list:
        data = urllib.parse.urlencode({"query": text}).encode()
        req = urllib.request.Request(self.url + "/api/v1/query", data=data,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            body = json.load(resp)
        if body.get("status") != "success":
            raise ValueError(body.get("error", "query failed"))
        result = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            return [{"value": result}]
        return result

    def check(self, metric: Metric, app: AppSpec, release: Release) -> Verdict:
        text = (metric.query.replace("{version}", release.to_version).replace("{app}", app.name)
                .replace("{namespace}", release.namespace))
        if not self.url:
            return Verdict(INCONCLUSIVE, f"{metric.name}: no PROMETHEUS_URL is configured")
        try:
            result = self.query(text)
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            return Verdict(INCONCLUSIVE, f"{metric.name}: query failed ({exc})")
        if not result:
            return Verdict(INCONCLUSIVE, f"{metric.name}: no data for `{text}`")
        value = float(result[0]["value"][1])
        if math.isnan(value):
            return Verdict(INCONCLUSIVE, f"{metric.name}: no data (NaN) for `{text}`")
        if metric.max is not None and value > metric.max:
            return Verdict(FAIL, f"{metric.name} = {value:.4g}, above the max of {metric.max:g}")
        if metric.min is not None and value < metric.min:
            return Verdict(FAIL, f"{metric.name} = {value:.4g}, below the min of {metric.min:g}")
        bound = f"max {metric.max:g}" if metric.max is not None else f"min {metric.min:g}"
        return Verdict(PASS, f"{metric.name} = {value:.4g} ({bound})")

    def evaluate(self, app: AppSpec, release: Release) -> Verdict:
        verdicts = [self.check(m, app, release) for m in app.gates.metrics]
        for result in (FAIL, INCONCLUSIVE):
            bad = [v.evidence for v in verdicts if v.result == result]
            if bad:
                return Verdict(result, "; ".join(bad))
        return Verdict(PASS, "; ".join(v.evidence for v in verdicts))


class HealthWatcher:
    """One pod watch per namespace of the registry; every event may fail a gate or wake the driver."""

    def __init__(self, kube: Kube, registry: Registry, active: Callable[[], list[Release]],
                 fail: Callable[[str, str], None], wake: Callable[[], None]):
        self.kube, self.registry = kube, registry
        self.active, self.fail, self.wake = active, fail, wake
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failed: set[tuple[str, int]] = set()
        self._cache: tuple[float, list[Release]] = (0.0, [])

    def start(self) -> "HealthWatcher":
        for ns in sorted({app.namespace for app in self.registry.values()}):
            thread = threading.Thread(target=self.kube.watch, name=f"health-{ns}", daemon=True,
                                      args=("pods", ns, self.on_pod, self._stop))
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()

    def _releases(self) -> list[Release]:
        at, cached = self._cache
        if time.monotonic() - at > 0.25:      # many pod events arrive in bursts
            cached = [r for r in self.active() if r.phase in (Phase.PROGRESSING, Phase.WAITING)]
            self._cache = (time.monotonic(), cached)
        return cached

    def on_pod(self, kind: str, pod: dict) -> None:
        if kind == "DELETED":
            return
        touched = False
        for release in self._releases():
            app = self.registry.get(release.app)
            if app is None or pod["metadata"].get("namespace") != release.namespace \
                    or not pod_of_release(release, app, pod):
                continue
            touched = True
            if release.options.get("overridden_stage") == release.stage:
                continue
            why = pod_failure(pod, app.gates.max_restarts)
            if why and (release.id, release.stage) not in self._failed:
                self._failed.add((release.id, release.stage))
                self._cache = (0.0, [])
                try:
                    self.fail(release.id, why)
                except Exception:
                    log.exception("failing the gate of %s", release.id)
        if touched:
            self.wake()
