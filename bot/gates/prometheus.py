"""The Prometheus provider: instant queries over the HTTP API (`/api/v1/query`), stdlib HTTP."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

from . import ProviderError


class Prometheus:
    name = "prometheus"

    def __init__(self, url: str = "", timeout: float = 5.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def _result(self, text: str) -> list:
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

    def samples(self, query: str, window: int, step: int) -> list[float]:
        if not self.url:
            raise ProviderError("no PROMETHEUS_URL is configured")
        end = time.time()
        data = urllib.parse.urlencode({"query": query, "start": f"{end - window:.3f}", "end": f"{end:.3f}",
                                       "step": str(step)}).encode()
        req = urllib.request.Request(self.url + "/api/v1/query_range", data=data,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = json.load(resp)
            if body.get("status") != "success":
                raise ValueError(body.get("error", "query failed"))
            result = body["data"]["result"]
            values = [float(v) for _, v in result[0]["values"]] if result else []
        except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"range query failed ({exc})") from None
        return [v for v in values if v == v]      # NaN steps (no requests) carry no sample

    def value(self, query: str) -> float | None:
        if not self.url:
            raise ProviderError("no PROMETHEUS_URL is configured")
        try:
            result = self._result(query)
            return float(result[0]["value"][1]) if result else None
        except (urllib.error.URLError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"query failed ({exc})") from None
