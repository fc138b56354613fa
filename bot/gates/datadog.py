"""The Datadog provider: metric queries over the v1 query API (`GET /api/v1/query?from&to&query`)
with an API key and an application key, as Datadog documents it. The value is the newest point
of the first series; samples are its points. Stdlib HTTP."""
from __future__ import annotations

import json
import time
import urllib.parse

from bot.adapters.outbound import Unanswered, call

from . import ProviderError

LOOKBACK = 300       # seconds of points an instant value is read from (the newest one wins)


class Datadog:
    name = "datadog"

    def __init__(self, url: str = "", api_key: str = "", app_key: str = "", timeout: float = 5.0):
        self.url, self.api_key, self.app_key, self.timeout = url.rstrip("/"), api_key, app_key, timeout

    def _points(self, query: str, seconds: int) -> list[float]:
        if not (self.url and self.api_key and self.app_key):
            raise ProviderError("Datadog needs DATADOG_URL, DATADOG_API_KEY and DATADOG_APP_KEY")
        now = int(time.time())
        args = urllib.parse.urlencode({"from": now - seconds, "to": now, "query": query})
        try:
            answer = call(f"{self.url}/api/v1/query?{args}", self.timeout, headers={
                "DD-API-KEY": self.api_key, "DD-APPLICATION-KEY": self.app_key, "Accept": "application/json"})
        except Unanswered as err:
            raise ProviderError(f"Datadog query failed ({err})") from None
        if not 200 <= answer.status < 300:
            raise ProviderError(f"Datadog answered {answer.status} ({answer.body[:200].decode('utf-8', 'replace')})")
        try:
            body = json.loads(answer.body)
        except ValueError:
            raise ProviderError("Datadog answered without JSON") from None
        if body.get("status") not in (None, "ok") or body.get("error"):
            raise ProviderError(f"Datadog refused the query ({body.get('error', body.get('status'))})")
        series = body.get("series") or []
        if not series:
            return []
        if len(series) > 1:
            raise ProviderError(f"{len(series)} series answered `{query}`; a gate judges one number: aggregate "
                                "the query (sum:, max: or avg: without `by {...}`)")
        return [float(v) for _, v in series[0].get("pointlist") or [] if v is not None]

    def value(self, query: str) -> float | None:
        points = self._points(query, LOOKBACK)
        return points[-1] if points else None

    def samples(self, query: str, window: int, step: int) -> list[float]:
        return self._points(query, window)
