"""The generic web provider (like Argo Rollouts' web metric): GET a URL (the metric's `query`,
with {app}, {version} and {namespace} filled in) and read a number from the JSON answer by a
dotted path given after `#` (`http://stats/api?app={app}#data.error_rate`; a list index is a
number: `items.0.value`). Stdlib HTTP."""
from __future__ import annotations

import json

from bot.adapters.outbound import Unanswered, call, shown

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
            answer = call(url, self.timeout, headers={"Accept": "application/json"})
        except Unanswered as err:
            raise ProviderError(str(err)) from None
        if not 200 <= answer.status < 300:
            raise ProviderError(f"{shown(url)} answered {answer.status}")
        try:
            doc = json.loads(answer.body)
        except ValueError:
            raise ProviderError(f"{shown(url)} did not answer JSON") from None
        found = read_path(doc, path)
        if found is None:
            return None
        try:
            return float(found)
        except (TypeError, ValueError):
            raise ProviderError(f"{shown(url)}: {path or 'the answer'} is not a number") from None

    def samples(self, query: str, window: int, step: int) -> list[float]:
        raise ProviderError("the web provider reads one value; use max_ratio or max_delta, not a test")
