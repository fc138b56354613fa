"""The Prometheus provider: instant and range queries over the HTTP API (`/api/v1/query`,
`/api/v1/query_range`), each call with one deadline for the whole answer (bot/adapters/outbound.py).
A gate judges one number: a query answering several series is refused as inconclusive, saying how
to aggregate it, never judged by whichever series came first."""
from __future__ import annotations

import json
import time
import urllib.parse

from bot.adapters.outbound import Unanswered, call

from . import ProviderError


def one_series(result: list, query: str) -> list:
    if len(result) > 1:
        raise ProviderError(f"{len(result)} series answered `{query}`; a gate judges one number: aggregate "
                            "the query (sum(...), max(...) or avg(...) by nothing)")
    return result


class Prometheus:
    name = "prometheus"

    def __init__(self, url: str = "", timeout: float = 5.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def _post(self, path: str, form: dict[str, str]) -> dict:
        try:
            answer = call(self.url + path, self.timeout, method="POST", body=urllib.parse.urlencode(form).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        except Unanswered as err:
            raise ProviderError(str(err)) from None
        try:
            body = json.loads(answer.body)
        except ValueError:
            raise ProviderError(f"Prometheus answered {answer.status} without JSON") from None
        if body.get("status") != "success":
            raise ProviderError(f"query failed ({body.get('error', answer.status)})")
        return body["data"]

    def samples(self, query: str, window: int, step: int) -> list[float]:
        if not self.url:
            raise ProviderError("no PROMETHEUS_URL is configured")
        end = time.time()
        data = self._post("/api/v1/query_range", {"query": query, "start": f"{end - window:.3f}",
                                                   "end": f"{end:.3f}", "step": str(step)})
        try:
            result = one_series(data["result"], query)
            values = [float(v) for _, v in result[0]["values"]] if result else []
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ProviderError(f"range query failed ({exc})") from None
        return [v for v in values if v == v]      # NaN steps (no requests) carry no sample

    def value(self, query: str) -> float | None:
        if not self.url:
            raise ProviderError("no PROMETHEUS_URL is configured")
        data = self._post("/api/v1/query", {"query": query})
        try:
            result = [{"value": data["result"]}] if data["resultType"] == "scalar" else data["result"]
            result = one_series(result, query)
            return float(result[0]["value"][1]) if result else None
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ProviderError(f"query failed ({exc})") from None
