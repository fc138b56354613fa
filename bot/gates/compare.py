"""Canary against stable, not only against a fixed number (apps.yaml `compare: stable`): the
same query for both versions over the same window; `max_ratio` (canary at most N x stable) and
`max_delta` (canary at most stable + d), or `test: mann-whitney` over per-step samples of both,
which asks whether the canary's values are larger than stable's beyond chance (scipy's
implementation; p < 0.05 fails). Too few samples, or no data for either side, is inconclusive."""
from __future__ import annotations

import math

import statistics

from scipy.stats import mannwhitneyu

from bot.domain.apps import Metric

from . import FAIL, INCONCLUSIVE, PASS, ProviderError, Verdict

ALPHA = 0.05


def by_values(metric: Metric, canary: float, stable: float) -> Verdict:
    both = f"{metric.name}: canary {canary:.4g} vs stable {stable:.4g}"
    if metric.max_ratio is not None:
        ratio = canary / stable if stable else (float("inf") if canary else 1.0)
        if ratio > metric.max_ratio:
            shown = "any value above a stable of 0" if ratio == float("inf") else f"{ratio:.2f}x"
            return Verdict(FAIL, f"{both}: {shown}, above the max_ratio of {metric.max_ratio:g}")
    if metric.max_delta is not None and canary - stable > metric.max_delta:
        return Verdict(FAIL, f"{both}: +{canary - stable:.4g}, above the max_delta of {metric.max_delta:g}")
    return Verdict(PASS, f"{both} (within {_bounds(metric)})")


def _bounds(metric: Metric) -> str:
    parts = [f"max_ratio {metric.max_ratio:g}" if metric.max_ratio is not None else "",
             f"max_delta {metric.max_delta:g}" if metric.max_delta is not None else ""]
    return ", ".join(p for p in parts if p) or "bounds"


def by_test(metric: Metric, canary: list[float], stable: list[float]) -> Verdict:
    if len(canary) < metric.min_samples or len(stable) < metric.min_samples:
        return Verdict(INCONCLUSIVE, f"{metric.name}: too few samples for mann-whitney (canary {len(canary)}, "
                                     f"stable {len(stable)}; at least {metric.min_samples} each)")
    both = (f"{metric.name}: canary median {statistics.median(canary):.4g} vs stable "
            f"{statistics.median(stable):.4g} over {len(canary)}/{len(stable)} samples")
    if len(set(canary) | set(stable)) == 1:          # all equal: nothing to rank
        return Verdict(PASS, f"{both}: identical")
    p = float(mannwhitneyu(canary, stable, alternative="greater").pvalue)
    if p < ALPHA:
        return Verdict(FAIL, f"{both}: Mann-Whitney p={p:.3g} (< {ALPHA:g}), canary worse")
    return Verdict(PASS, f"{both}: Mann-Whitney p={p:.3g}")


def compare(metric: Metric, provider, canary_query: str, stable_query: str) -> Verdict:
    try:
        if metric.test == "mann-whitney":
            return by_test(metric, provider.samples(canary_query, metric.window, metric.step),
                           provider.samples(stable_query, metric.window, metric.step))
        canary, stable = provider.value(canary_query), provider.value(stable_query)
    except ProviderError as err:
        return Verdict(INCONCLUSIVE, f"{metric.name}: {err}")
    missing = [side for side, v in (("canary", canary), ("stable", stable)) if v is None or v != v]
    if missing:
        return Verdict(INCONCLUSIVE, f"{metric.name}: no data for the {' and '.join(missing)} version")
    assert canary is not None and stable is not None
    if not (math.isfinite(canary) and math.isfinite(stable)):
        return Verdict(INCONCLUSIVE, f"{metric.name}: canary {canary} vs stable {stable} is not a comparison of "
                                     "finite numbers: guard the query against dividing by zero")
    return by_values(metric, canary, stable)
