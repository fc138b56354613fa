"""The Datadog provider: metric queries over the v1 query API (`GET /api/v1/query?from&to&query`)
with an API key and an application key, as Datadog documents it. The value is the newest point
of the first series; samples are its points. Stdlib HTTP."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

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
        req = urllib.request.Request(f"{self.url}/api/v1/query?{args}", headers={
            "DD-API-KEY": self.api_key, "DD-APPLICATION-KEY": self.app_key, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as err:
            raise ProviderError(f"Datadog answered {err.code} ({err.read()[:200].decode('utf-8', 'replace')})") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ProviderError(f"Datadog query failed ({exc})") from None
        if body.get("status") not in (None, "ok") or body.get("error"):
            raise ProviderError(f"Datadog refused the query ({body.get('error', body.get('status'))})")
        series = body.get("series") or []
        if not series:
            return []
        return [float(v) for _, v in series[0].get("pointlist") or [] if v is not None]

    def value(self, query: str) -> float | None:
        points = self._points(query, LOOKBACK)
        return points[-1] if points else None

    def samples(self, query: str, window: int, step: int) -> list[float]:
        return self._points(query, window)
