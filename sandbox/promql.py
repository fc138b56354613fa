"""A Prometheus-compatible instant query API over the simulated traffic (a PromQL subset):

    sandbox_requests_total{app="user",version="v2",code=~"5.."}
    rate(SELECTOR[30s])   increase(SELECTOR[1m])   sum(EXPR)   sum by (version) (EXPR)
    EXPR / EXPR   EXPR or EXPR   vector(N)   (a number)

As in Prometheus: `/` matches samples with equal label sets, an empty side gives an empty
result (no data), 0/0 is NaN; so an error ratio is written
`(sum(rate(...{code=~"5.."}[30s])) or vector(0)) / sum(rate(...[30s]))`.
"""
from __future__ import annotations

import math
import re
import threading
import time
from collections import deque

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<dur>\[\d+[smh]\])|(?P<str>\"[^\"]*\")|"
                    r"(?P<op>=~|!~|!=|[{}(),=/])|(?P<name>[A-Za-z_:][A-Za-z0-9_:]*))")
UNITS = {"s": 1, "m": 60, "h": 3600}
LABELS = ("namespace", "app", "version", "code")
Vector = dict[tuple, float]     # label tuple (sorted items) -> value


class QueryError(Exception):
    pass


class Series:
    """Request events (time, labels) kept for an hour, the raw material of every query."""

    def __init__(self, keep: float = 3600):
        self.events: deque[tuple[float, tuple]] = deque()
        self.totals: dict[tuple, int] = {}
        self.keep, self.lock = keep, threading.Lock()

    def add(self, namespace: str, app: str, version: str, code: str) -> None:
        labels = tuple(zip(LABELS, (namespace, app, version, code)))
        now = time.time()
        with self.lock:
            self.events.append((now, labels))
            self.totals[labels] = self.totals.get(labels, 0) + 1
            while self.events and self.events[0][0] < now - self.keep:
                self.events.popleft()

    def window(self, seconds: float, end: float | None = None) -> dict[tuple, int]:
        """Requests per label set in the `seconds` before `end` (default now)."""
        end = time.time() if end is None else end
        cutoff, counts = end - seconds, {}
        with self.lock:
            for at, labels in reversed(self.events):
                if at > end:
                    continue
                if at < cutoff:
                    break
                counts[labels] = counts.get(labels, 0) + 1
        return counts


class Parser:
    def __init__(self, text: str, series: Series, at: float | None = None):
        self.tokens = self._lex(text)
        self.i, self.series, self.at = 0, series, at

    @staticmethod
    def _lex(text: str) -> list[tuple[str, str]]:
        out, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise QueryError(f"unexpected character at position {pos}: {text[pos:pos + 10]!r}")
            kind = m.lastgroup
            out.append((kind, m.group(kind)))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        return out

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, value: str | None = None, kind: str | None = None) -> str:
        tok = self._peek()
        if tok is None or (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            raise QueryError(f"expected {value or kind}, found {tok[1] if tok else 'end of query'}")
        self.i += 1
        return tok[1]

    def parse(self) -> Vector | float:
        value = self._expr()
        if self._peek() is not None:
            raise QueryError(f"unexpected {self._peek()[1]!r}")
        return value

    def _expr(self) -> Vector | float:
        left = self._quotient()
        while self._peek() == ("name", "or"):
            self._take("or")
            right = self._quotient()
            if not isinstance(left, dict) or not isinstance(right, dict):
                raise QueryError("`or` needs vectors on both sides")
            left = {**right, **left}
        return left

    def _quotient(self) -> Vector | float:
        left = self._term()
        while self._peek() == ("op", "/"):
            self._take("/")
            left = _divide(left, self._term())
        return left

    def _term(self) -> Vector | float:
        tok = self._peek()
        if tok is None:
            raise QueryError("empty expression")
        if tok[0] == "num":
            return float(self._take(kind="num"))
        if tok == ("op", "("):
            self._take("(")
            inner = self._expr()
            self._take(")")
            return inner
        name = self._take(kind="name")
        if name == "vector":
            self._take("(")
            number = float(self._take(kind="num"))
            self._take(")")
            return {(): number}
        if name == "sum":
            return self._sum()
        if name in ("rate", "increase"):
            self._take("(")
            matchers = self._matchers(self._take(kind="name"))
            dur = self._take(kind="dur")[1:-1]
            self._take(")")
            seconds = int(dur[:-1]) * UNITS[dur[-1]]
            counts = self.series.window(seconds, self.at)
            scale = seconds if name == "rate" else 1
            return {k: v / scale for k, v in counts.items() if _fits(k, matchers)}
        matchers = self._matchers(name)
        return {k: float(v) for k, v in self.series.totals.items() if _fits(k, matchers)}

    def _sum(self) -> Vector:
        by: list[str] = []
        if self._peek() == ("name", "by"):
            self._take("by")
            self._take("(")
            while self._peek() != ("op", ")"):
                by.append(self._take(kind="name"))
                if self._peek() == ("op", ","):
                    self._take(",")
            self._take(")")
        self._take("(")
        inner = self._expr()
        self._take(")")
        if not isinstance(inner, dict):
            raise QueryError("sum() needs a vector")
        out: Vector = {}
        for labels, value in inner.items():
            key = tuple((k, v) for k, v in labels if k in by)
            out[key] = out.get(key, 0.0) + value
        return out

    def _matchers(self, name: str) -> list[tuple[str, str, str]]:
        if name != "sandbox_requests_total":
            raise QueryError(f"unknown metric {name!r}; the sandbox has sandbox_requests_total")
        matchers = []
        if self._peek() == ("op", "{"):
            self._take("{")
            while self._peek() != ("op", "}"):
                label = self._take(kind="name")
                op = self._take(kind="op")
                value = self._take(kind="str")[1:-1]
                matchers.append((label, op, value))
                if self._peek() == ("op", ","):
                    self._take(",")
            self._take("}")
        return matchers


def _fits(labels: tuple, matchers: list[tuple[str, str, str]]) -> bool:
    values = dict(labels)
    for label, op, want in matchers:
        have = values.get(label, "")
        ok = {"=": have == want, "!=": have != want,
              "=~": re.fullmatch(want, have) is not None, "!~": re.fullmatch(want, have) is None}.get(op)
        if not ok:
            return False
    return True


def _div(x: float, y: float) -> float:
    if y == 0:
        return math.nan if x == 0 else math.copysign(math.inf, x)
    return x / y


def _divide(a: Vector | float, b: Vector | float) -> Vector | float:
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _div(v, b[k]) for k, v in a.items() if k in b}
    if isinstance(a, dict):
        return {k: _div(v, b) for k, v in a.items()}
    if isinstance(b, dict):
        return {k: _div(a, v) for k, v in b.items()}
    return _div(a, b)


def query(series: Series, text: str) -> dict:
    """The body of a Prometheus /api/v1/query answer."""
    try:
        value = Parser(text, series).parse()
    except QueryError as err:
        return {"status": "error", "errorType": "bad_data", "error": str(err)}
    now = time.time()
    if isinstance(value, dict):
        result = [{"metric": dict(labels), "value": [now, _fmt(v)]} for labels, v in sorted(value.items())]
        return {"status": "success", "data": {"resultType": "vector", "result": result}}
    return {"status": "success", "data": {"resultType": "scalar", "result": [now, _fmt(value)]}}


def query_range(series: Series, text: str, start: float, end: float, step: float) -> dict:
    """The body of a Prometheus /api/v1/query_range answer: the expression evaluated at every
    step from start to end (at most 11,000 points, as Prometheus limits them)."""
    if step <= 0 or end < start or (end - start) / step > 11000:
        return {"status": "error", "errorType": "bad_data", "error": "bad start, end or step"}
    series_at: dict[tuple, list] = {}
    at = start
    while at <= end + 1e-9:
        try:
            value = Parser(text, series, at).parse()
        except QueryError as err:
            return {"status": "error", "errorType": "bad_data", "error": str(err)}
        points = value.items() if isinstance(value, dict) else [((), value)]
        for labels, v in points:
            if not math.isnan(v):
                series_at.setdefault(labels, []).append([round(at, 3), _fmt(v)])
        at += step
    result = [{"metric": dict(labels), "values": values} for labels, values in sorted(series_at.items())]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return ("+Inf" if value > 0 else "-Inf") if math.isinf(value) else repr(float(value))
