"""The metric gates of apps.yaml (pure): one Metric each, with its bounds or its comparison with
the stable version; parsing lists every problem found."""
from __future__ import annotations

from dataclasses import dataclass

from .checks import unknown_keys
from .durations import parse_duration
from .names import DEFAULT_PROVIDER, PROVIDERS

METRIC_KEYS = ("name", "query", "max", "min", "provider", "compare", "max_ratio", "max_delta", "test",
               "min_samples", "window", "step")
COMPARE_TESTS = ("mann-whitney",)


@dataclass(frozen=True)
class Metric:
    name: str
    query: str
    max: float | None = None
    min: float | None = None
    provider: str = DEFAULT_PROVIDER
    compare: str | None = None        # "stable": judge the canary against the stable version
    max_ratio: float | None = None    # canary at most this many times stable's value
    max_delta: float | None = None    # canary at most this much above stable's value
    test: str | None = None           # "mann-whitney": a statistical verdict over per-step samples
    min_samples: int = 5              # per side; fewer is inconclusive
    window: int = 60                  # seconds of samples for the test
    step: int = 5                     # seconds between samples


def _bounds(raw: dict, where: str, problems: list[str]) -> tuple[float | None, float | None] | None:
    """(max, min) as finite numbers, or None after recording the problem."""
    out: list[float | None] = []
    for key in ("max", "min"):
        if key not in raw:
            out.append(None)
            continue
        try:
            value = float(raw[key])
        except (TypeError, ValueError):
            value = float("nan")
        if value != value or value in (float("inf"), float("-inf")):
            problems.append(f"{where}.{key}: {raw[key]!r} is not a number")
            return None
        out.append(value)
    return out[0], out[1]


def _number(m: dict, key: str, spot: str, problems: list[str]) -> float | None:
    if key not in m:
        return None
    try:
        value = float(m[key])
    except (TypeError, ValueError):
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        problems.append(f"{spot}.{key}: {m[key]!r} is not a number >= 0")
        return None
    return value


def _comparison(m: dict, spot: str, problems: list[str]) -> dict:
    """compare: stable, with max_ratio and/or max_delta, optionally test: mann-whitney."""
    if "compare" not in m:
        for key in ("max_ratio", "max_delta", "test"):
            if key in m:
                problems.append(f"{spot}.{key}: only with compare: stable")
        return {}
    if m["compare"] != "stable":
        problems.append(f"{spot}.compare: the one comparison is `stable`, not {m['compare']!r}")
        return {}
    out: dict = {"compare": "stable", "max_ratio": _number(m, "max_ratio", spot, problems),
                 "max_delta": _number(m, "max_delta", spot, problems)}
    if m.get("test") is not None:
        if m["test"] not in COMPARE_TESTS:
            problems.append(f"{spot}.test: {m['test']!r} is not one of {', '.join(COMPARE_TESTS)}")
        else:
            out["test"] = m["test"]
    elif out["max_ratio"] is None and out["max_delta"] is None:
        problems.append(f"{spot}: compare: stable needs max_ratio, max_delta or test: mann-whitney")
    for key, low in (("min_samples", 3), ("window", 10), ("step", 1)):
        if key in m:
            seconds = m[key] if key == "min_samples" else parse_duration(str(m[key]))
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < low:
                problems.append(f"{spot}.{key}: must be at least {low}{'' if key == 'min_samples' else 's'}")
            else:
                out[key] = seconds
    return out


def parse_metrics(raw: object, where: str, problems: list[str]) -> tuple[Metric, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{where}.gates.metrics: must be a list of {{name, query, max|min|compare}}")
        return ()
    metrics = []
    for i, m in enumerate(raw):
        spot = f"{where}.gates.metrics[{i}]"
        if not isinstance(m, dict) or not m.get("name") or not m.get("query") or \
                ("max" not in m and "min" not in m and "compare" not in m):
            problems.append(f"{spot}: needs name, query and max, min or compare")
            continue
        unknown_keys(m, METRIC_KEYS, spot, problems)
        provider = str(m.get("provider", DEFAULT_PROVIDER))
        if provider not in PROVIDERS:
            problems.append(f"{spot}.provider: {provider!r} is not one of {', '.join(PROVIDERS)}")
            continue
        bounds = _bounds(m, spot, problems)
        comparison = _comparison(m, spot, problems)
        if bounds is not None:
            metrics.append(Metric(str(m["name"]), str(m["query"]), *bounds, provider=provider, **comparison))
    return tuple(metrics)
