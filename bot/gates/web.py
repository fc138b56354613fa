"""The generic web provider (like Argo Rollouts' web metric): GET a URL (the metric's `query`,
with {app}, {version} and {namespace} filled in) and read a number from the JSON answer by a
dotted path given after `#` (`http://stats/api?app={app}#data.error_rate`; a list index is a
number: `items.0.value`). Stdlib HTTP."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from . import ProviderError


def read_path(doc: object, path: str) -> object:
    for part in [p for p in path.split(".") if p]:
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return None
    return doc


class Web:
    name = "web"

    def __init__(self, timeout: float = 5.0):
        self.timeout = timeout

    def value(self, query: str) -> float | None:
        url, _, path = query.partition("#")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}),
                                        timeout=self.timeout) as resp:
                doc = json.load(resp)
        except urllib.error.HTTPError as err:
            raise ProviderError(f"{url} answered {err.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ProviderError(f"{url} failed ({exc})") from None
        found = read_path(doc, path)
        if found is None:
            return None
        try:
            return float(found)
        except (TypeError, ValueError):
            raise ProviderError(f"{url}: {path or 'the answer'} is {found!r}, not a number") from None

    def samples(self, query: str, window: int, step: int) -> list[float]:
        raise ProviderError("the web provider reads one value; use max_ratio or max_delta, not a test")
