"""HTTP routes for simulated traffic, so a person can `curl` the split in a loop:

    curl 'http://127.0.0.1:8001/sandbox/request?path=/user'
    curl 'http://127.0.0.1:8001/sandbox/request?path=/user&header=role:test'
    curl 'http://127.0.0.1:8001/sandbox/traffic?path=/user&n=1000&cookie=vip_user=always'
    curl 'http://127.0.0.1:8001/sandbox/traffic?gateway=public&path=/user&n=2000&users=200'

`gateway=NAME` routes through the HTTPRoutes that Gateway accepted (else the Ingress for the
path), or with `grpc=SERVICE/METHOD` through its GRPCRoutes (`header=` is then gRPC metadata); `method`, and `query=a%3D1` for query-parameter matches; `users=U` spreads the requests
over U visitors who keep the cookies the responses set, and reports who switched version.
"""
from __future__ import annotations

import json
import time
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
            "method": query.get("method", "GET").upper(), "query": params, "grpc": query.get("grpc", "")}


def register_traffic_routes(server, traffic: Traffic) -> None:
    def one(query, _raw):
        return 200, traffic.request(**_request_args(query))

    def many(query, _raw):
        n = max(1, min(100_000, int(query.get("n", "100") or 100)))
        users = max(0, min(10_000, int(query.get("users", "0") or 0)))
        return 200, traffic.batch(n, users=users, **_request_args(query))

    def version_stats(query, _raw):
        """Requests and errors of one app version over `window` seconds: a JSON document for the
        generic web metric provider (`.../sandbox/metrics?app=user&version=v2#error_rate`)."""
        window = max(1.0, min(3600.0, float(query.get("window") or 30)))
        counts = traffic.series.window(window)
        mine = {labels: n for labels, n in counts.items()
                if dict(labels)["app"] == query.get("app") and dict(labels)["version"] == query.get("version")}
        total = sum(mine.values())
        errors = sum(n for labels, n in mine.items() if dict(labels)["code"].startswith("5"))
        return 200, {"app": query.get("app"), "version": query.get("version"), "window": window,
                     "requests": total, "errors": errors, "error_rate": errors / total if total else None}

    for method in ("GET", "POST"):
        server.extra_routes[(method, "/sandbox/request")] = one
        server.extra_routes[(method, "/sandbox/traffic")] = many
    server.extra_routes[("GET", "/sandbox/metrics")] = version_stats


def register_webhook_routes(server, traffic: Traffic) -> None:
    """POST /sandbox/smoke: a smoke test a webhook gate can call. It sends `n` requests to
    `service` (default APP-VERSION from the posted release) and answers 200, or 500 with the
    count of failed requests when more than `max_errors` failed; `delay` seconds first (to try
    timeouts). Without `service`, the requests go to the app's Service narrowed to the new
    version's pods (as a preview Service would). Every call's body is kept: GET /sandbox/webhooks."""
    calls: list[dict] = []

    def smoke(query, raw):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return 400, {"error": "the body is not JSON"}
        calls.append({"query": query, "body": body})
        time.sleep(min(60.0, float(query.get("delay") or 0)))
        if query.get("status"):
            return int(query["status"]), {"error": f"answering {query['status']} as asked"}
        n = max(1, min(10_000, int(query.get("n") or 50)))
        namespace = body.get("namespace") or "default"
        if query.get("service"):
            service, result = query["service"], traffic.batch(n, namespace=namespace, service=query["service"])
        else:
            service = f"{body.get('app')} version {body.get('to_version')}"
            result = traffic.preview(n, namespace, str(body.get("app")), str(body.get("to_version")))
        failed = result["errors"] + result["unserved"]
        if failed > int(query.get("max_errors") or 0):
            return 500, {"error": f"smoke test failed: {failed} of {n} requests to {service} failed"}
        return 200, {"ok": True, "service": service, "requests": n}

    server.extra_routes[("POST", "/sandbox/smoke")] = smoke
    server.extra_routes[("GET", "/sandbox/webhooks")] = lambda query, raw: (200, {"calls": list(calls)})


def register_prometheus_routes(server, traffic: Traffic) -> None:
    """GET/POST /api/v1/query, as the Prometheus HTTP API answers it."""
    def instant(query, raw):
        text = query.get("query") or dict(parse_qsl(raw.decode() if raw else "")).get("query", "")
        body = promql.query(traffic.series, text)
        return (200 if body["status"] == "success" else 400), body

    def ranged(query, raw):
        args = dict(query, **dict(parse_qsl(raw.decode() if raw else "")))
        try:
            start, end, step = float(args["start"]), float(args["end"]), float(args["step"])
        except (KeyError, ValueError):
            return 400, {"status": "error", "errorType": "bad_data", "error": "start, end and step are needed"}
        body = promql.query_range(traffic.series, args.get("query", ""), start, end, step)
        return (200 if body["status"] == "success" else 400), body

    for method in ("GET", "POST"):
        server.extra_routes[(method, "/api/v1/query")] = instant
        server.extra_routes[(method, "/api/v1/query_range")] = ranged
