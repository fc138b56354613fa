"""A Datadog-shaped metrics query API over the sandbox's simulated traffic: `GET
/datadog/api/v1/query?from=&to=&query=` with `DD-API-KEY` and `DD-APPLICATION-KEY` headers (403
without), answering `{"status": "ok", "series": [{"pointlist": [[ms, value], ...]}]}` as the v1
query API does. The query language is the subset graybot's gates use:

    sum:sandbox.requests{app:user,version:v2,code:5*}.as_rate() / sum:sandbox.requests{app:user,version:v2}.as_rate()

`sum:METRIC{tag:value,...}` (`*` alone matches everything, a trailing `*` a prefix), then
`.as_rate()` (per second) or `.as_count()`, combined with + - * / and numbers, per rollup
interval. A bucket with 0/0 is a null point, as in Datadog.
"""
from __future__ import annotations

import re

from .promql import Series

INTERVAL = 5          # seconds per point (Datadog picks the rollup from the range; small here)
METRIC = "sandbox.requests"
_TOKEN = re.compile(r"\s*(sum:[a-z_.]+\{[^}]*\}(?:\.as_(?:rate|count)\(\))?|\d+(?:\.\d+)?|[()+\-*/])")


class DatadogQueryError(ValueError):
    pass


def _tags(text: str) -> list[tuple[str, str]]:
    out = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        if part == "*":
            continue
        if ":" not in part:
            raise DatadogQueryError(f"tag {part!r} is not key:value")
        key, value = part.split(":", 1)
        out.append((key, value))
    return out


def _fits(labels: dict, tags: list[tuple[str, str]]) -> bool:
    for key, want in tags:
        have = labels.get(key, "")
        if want.endswith("*") and not have.startswith(want[:-1]) or not want.endswith("*") and have != want:
            return False
    return True


def _series(series: Series, term: str, buckets: list[float]) -> list[float]:
    m = re.fullmatch(r"sum:([a-z_.]+)\{([^}]*)\}(?:\.as_(rate|count)\(\))?", term)
    if m.group(1) != METRIC:
        raise DatadogQueryError(f"unknown metric {m.group(1)!r}; the sandbox has {METRIC}")
    tags, per_second = _tags(m.group(2)), m.group(3) != "count"
    out = []
    for end in buckets:
        counts = series.window(INTERVAL, end)
        total = sum(n for labels, n in counts.items() if _fits(dict(labels), tags))
        out.append(total / INTERVAL if per_second else float(total))
    return out


def _combine(left: list, op: str, right: list) -> list:
    def one(a, b):
        if a is None or b is None:
            return None
        if op == "/":
            return None if b == 0 else a / b
        return {"+": a + b, "-": a - b, "*": a * b}[op]
    return [one(a, b) for a, b in zip(left, right)]


def evaluate(series: Series, query: str, start: float, end: float) -> list[list]:
    """[[ms, value or None], ...] per INTERVAL bucket ending in (start, end]."""
    tokens = [t for t in _TOKEN.findall(query)]
    if "".join(tokens).replace(" ", "") != query.replace(" ", ""):
        raise DatadogQueryError(f"cannot parse {query!r}")
    buckets = [end - i * INTERVAL for i in range(int((end - start) // INTERVAL), -1, -1)] or [end]
    pos = 0

    def expr() -> list:
        nonlocal pos
        left = term()
        while pos < len(tokens) and tokens[pos] in "+-*/":
            op = tokens[pos]
            pos += 1
            left = _combine(left, op, term())
        return left

    def term() -> list:
        nonlocal pos
        if pos >= len(tokens):
            raise DatadogQueryError("the query ends too early")
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            inner = expr()
            pos += 1
            return inner
        if tok.startswith("sum:"):
            return _series(series, tok, buckets)
        try:
            return [float(tok)] * len(buckets)
        except ValueError:
            raise DatadogQueryError(f"unexpected {tok!r}") from None

    values = expr()
    return [[int(b * 1000), v] for b, v in zip(buckets, values)]


def register(server, series: Series) -> None:
    def query(args, _raw, headers):
        if not headers.get("DD-API-KEY") or not headers.get("DD-APPLICATION-KEY"):
            return 403, {"errors": ["Forbidden"]}
        try:
            start, end = float(args["from"]), float(args["to"])
            points = evaluate(series, args.get("query", ""), start, end)
        except (KeyError, ValueError) as err:
            return 400, {"status": "error", "error": str(err), "errors": [str(err)]}
        return 200, {"status": "ok", "res_type": "time_series", "query": args.get("query", ""),
                     "from_date": int(start * 1000), "to_date": int(end * 1000),
                     "series": [{"metric": METRIC, "expression": args.get("query", ""), "interval": INTERVAL,
                                 "length": len(points), "pointlist": points,
                                 "start": points[0][0] if points else 0, "end": points[-1][0] if points else 0}]}
    query.wants_headers = True
    server.extra_routes[("GET", "/datadog/api/v1/query")] = query
