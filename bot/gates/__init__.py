"""Metric gates: a provider Protocol, one module per provider (prometheus.py, ...), the factory
that builds them by name (bot.domain.names.PROVIDERS), and the gate that judges a release.

A metric is a query with a bound (max or min), run at the end of each stage's bake time. No data
or a provider that cannot answer is *inconclusive*: a human decides; it never passes silently.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from bot.domain.apps import AppSpec, Metric
from bot.domain.model import Release
from bot.domain.names import PROVIDERS

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


class ProviderError(Exception):
    """The provider could not answer (unreachable, refused the query, not configured)."""


class MetricProvider(Protocol):
    name: str

    def value(self, query: str) -> float | None:
        """The query's current value; None when it has no data; ProviderError when it cannot answer."""
        ...

    def samples(self, query: str, window: int, step: int) -> list[float]:
        """The query's values every `step` seconds over the last `window` (no-data steps left out)."""
        ...


@dataclass(frozen=True)
class Verdict:
    result: str              # pass | fail | inconclusive
    evidence: str


def query_for(metric: Metric, app: AppSpec, release: Release, version: str | None = None) -> str:
    return (metric.query.replace("{version}", version or release.to_version).replace("{app}", app.name)
            .replace("{namespace}", release.namespace))


def stable_version(release: Release) -> str:
    return release.origin.get("stable_version_label") or release.from_version


def judge(metric: Metric, value: float) -> Verdict:
    if metric.max is not None and value > metric.max:
        return Verdict(FAIL, f"{metric.name} = {value:.4g}, above the max of {metric.max:g}")
    if metric.min is not None and value < metric.min:
        return Verdict(FAIL, f"{metric.name} = {value:.4g}, below the min of {metric.min:g}")
    bound = f"max {metric.max:g}" if metric.max is not None else f"min {metric.min:g}"
    return Verdict(PASS, f"{metric.name} = {value:.4g} ({bound})")


class MetricGate:
    def __init__(self, providers: dict[str, MetricProvider] | None = None,
                 per_cluster: dict[str, dict[str, MetricProvider]] | None = None):
        """`per_cluster`: cluster -> providers of its own (its Prometheus), used for the waves
        running there; the others use `providers`."""
        self.providers = providers or {}
        self.per_cluster = per_cluster or {}

    def provider(self, name: str, release: Release) -> MetricProvider | None:
        return self.per_cluster.get(release.cluster, {}).get(name) or self.providers.get(name)

    def check(self, metric: Metric, app: AppSpec, release: Release) -> Verdict:
        text = query_for(metric, app, release)
        provider = self.provider(metric.provider, release)
        if provider is None:
            return Verdict(INCONCLUSIVE, f"{metric.name}: no {metric.provider} provider is configured")
        if metric.compare == "stable":
            from .compare import compare
            verdict = compare(metric, provider, text, query_for(metric, app, release, stable_version(release)))
            if verdict.result != PASS or (metric.max is None and metric.min is None):
                return verdict
            fixed = self._fixed(metric, provider, text)
            return fixed if fixed.result != PASS else Verdict(PASS, f"{verdict.evidence}; {fixed.evidence}")
        return self._fixed(metric, provider, text)

    def _fixed(self, metric: Metric, provider: MetricProvider, text: str) -> Verdict:
        try:
            value = provider.value(text)
        except ProviderError as err:
            return Verdict(INCONCLUSIVE, f"{metric.name}: {err}")
        if value is None or math.isnan(value):
            return Verdict(INCONCLUSIVE, f"{metric.name}: no data for `{text}`")
        if math.isinf(value):            # -Inf under a max, +Inf over a min: not a measurement
            return Verdict(INCONCLUSIVE, f"{metric.name} = {value} (not a finite number) for `{text}`: "
                                         "guard the query against dividing by zero")
        return judge(metric, value)

    def traffic(self, app: AppSpec, release: Release) -> Verdict | None:
        """Inconclusive when fewer than `min_requests` reached the new version (too little to
        judge: wait longer, continue, or roll back); None when there were enough (or no rule)."""
        gates = app.gates
        if not gates.min_requests or not gates.metrics:
            return None
        provider = self.provider(gates.metrics[0].provider, release)
        text = query_for(Metric("requests", gates.requests), app, release)
        try:
            count = provider.value(text) if provider else None
        except ProviderError:
            count = None
        count = 0.0 if count is None or math.isnan(count) else count
        if count >= gates.min_requests:
            return None
        return Verdict(INCONCLUSIVE, f"only {count:.0f} requests reached {release.to_version} "
                                     f"(the metric gates need {gates.min_requests}): resume to wait and measure "
                                     "again, continue to go on anyway, or roll back")

    def charts(self, app: AppSpec, release: Release, verdict: Verdict, window: int) -> list[dict]:
        """What a picture of the gate shows, per metric, without its series: the canary's and
        stable's queries, the threshold and the verdict. `fill` fetches the series later, off the
        release's path (the chat edge's worker), so a picture never delays or changes a verdict."""
        return [{"title": f"{app.name} {release.to_version} at {release.current.name}", "metric": metric.name,
                 "window": window, "step": max(1, window // 40), "verdict": verdict.result,
                 "evidence": verdict.evidence, "provider": metric.provider, "cluster": release.cluster,
                 "threshold": metric.max if metric.max is not None else metric.min,
                 "bound": "max" if metric.max is not None else "min",
                 "queries": {"canary": query_for(metric, app, release),
                             "stable": query_for(metric, app, release, stable_version(release))}}
                for metric in app.gates.metrics]

    def fill(self, chart: dict) -> dict:
        """The chart with each series over its window (empty where the provider cannot answer)."""
        provider = self.per_cluster.get(chart.get("cluster", ""), {}).get(chart["provider"]) or \
            self.providers.get(chart["provider"])
        filled = dict(chart)
        for name, query in chart.get("queries", {}).items():
            try:
                filled[name] = provider.samples(query, chart["window"], chart["step"]) if provider else []
            except ProviderError:
                filled[name] = []
        return filled

    def evaluate(self, app: AppSpec, release: Release) -> Verdict:
        if (thin := self.traffic(app, release)) is not None:
            return thin
        verdicts = [self.check(m, app, release) for m in app.gates.metrics]
        for result in (FAIL, INCONCLUSIVE):
            bad = [v.evidence for v in verdicts if v.result == result]
            if bad:
                return Verdict(result, "; ".join(bad))
        return Verdict(PASS, "; ".join(v.evidence for v in verdicts))


def build(configs: dict[str, dict], timeout: float = 5.0,
          per_cluster: dict[str, dict[str, dict]] | None = None) -> MetricGate:
    """One provider per name in PROVIDERS, each with its settings (URL, keys; empty: not configured);
    `per_cluster`: cluster -> {provider name: settings} for clusters with their own (a Prometheus each)."""
    from .datadog import Datadog
    from .prometheus import Prometheus
    from .web import Web

    makers = {"prometheus": Prometheus, "datadog": Datadog, "web": Web}
    assert set(makers) == set(PROVIDERS), "every provider name needs a maker here"
    own = {cluster: {name: makers[name](**settings, timeout=timeout) for name, settings in configs_of.items()}
           for cluster, configs_of in (per_cluster or {}).items()}
    return MetricGate({name: makers[name](**configs.get(name, {}), timeout=timeout) for name in PROVIDERS}, own)
