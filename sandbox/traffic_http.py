"""HTTP routes for simulated traffic, so a person can `curl` the split in a loop:

    curl 'http://127.0.0.1:8001/sandbox/request?path=/user'
    curl 'http://127.0.0.1:8001/sandbox/request?path=/user&header=role:test'
    curl 'http://127.0.0.1:8001/sandbox/traffic?path=/user&n=1000&cookie=vip_user=always'
    curl 'http://127.0.0.1:8001/sandbox/traffic?gateway=public&path=/user&n=2000&users=200'

`gateway=NAME` routes through the HTTPRoutes that Gateway accepted (else the Ingress for the
path); `method`, and `query=a%3D1` for query-parameter matches; `users=U` spreads the requests
over U visitors who keep the cookies the responses set, and reports who switched version.
"""
from __future__ import annotations

from urllib.parse import parse_qsl

from . import promql
from .traffic import Traffic


def _request_args(query: dict[str, str]) -> dict:
    headers, cookies = {}, {}
    if ":" in query.get("header", ""):
        name, value = query["header"].split(":", 1)
        headers[name.strip()] = value.strip()
    if "=" in query.get("cookie", ""):
        name, value = query["cookie"].split("=", 1)
        cookies[name.strip()] = value.strip()
    params = dict(parse_qsl(query["query"])) if query.get("query") else {}
    return {"namespace": query.get("namespace", "default"), "path": query.get("path", "/"),
            "host": query.get("host", ""), "headers": headers, "cookies": cookies,
            "service": query.get("service") or None, "gateway": query.get("gateway") or None,
            "method": query.get("method", "GET").upper(), "query": params}


def register_traffic_routes(server, traffic: Traffic) -> None:
    def one(query, _raw):
        return 200, traffic.request(**_request_args(query))

    def many(query, _raw):
        n = max(1, min(100_000, int(query.get("n", "100") or 100)))
        users = max(0, min(10_000, int(query.get("users", "0") or 0)))
        return 200, traffic.batch(n, users=users, **_request_args(query))

    for method in ("GET", "POST"):
        server.extra_routes[(method, "/sandbox/request")] = one
        server.extra_routes[(method, "/sandbox/traffic")] = many


def register_prometheus_routes(server, traffic: Traffic) -> None:
    """GET/POST /api/v1/query, as the Prometheus HTTP API answers it."""
    def instant(query, raw):
        text = query.get("query") or dict(parse_qsl(raw.decode() if raw else "")).get("query", "")
        body = promql.query(traffic.series, text)
        return (200 if body["status"] == "success" else 400), body

    for method in ("GET", "POST"):
        server.extra_routes[(method, "/api/v1/query")] = instant
