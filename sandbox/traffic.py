"""Simulated requests routed as ingress-nginx, Istio and Services would route them
(docs/sandbox.md), with per-version request/error counters for the metrics API."""
from __future__ import annotations

import random
import re
from collections import Counter

from . import gateway as G
from . import grpcroute as GRPC
from . import sessions
from .mirror import Mirrors
from .objstore import ObjectStore
from .pods import PodSimulator, image_tag
from .promql import Series
from .selectors import match_labels

P = "nginx.ingress.kubernetes.io/"
ING, SVC, POD = ("networking.k8s.io", "ingresses"), ("", "services"), ("", "pods")
VS, DR = ("networking.istio.io", "virtualservices"), ("networking.istio.io", "destinationrules")


def _int(text: object, default: int = 0) -> int:
    try:
        return int(str(text))
    except ValueError:
        return default


def _rules(ing: dict) -> list[tuple[str, str, str]]:
    """(host, path, backend service) of an Ingress."""
    out = []
    for rule in (ing.get("spec") or {}).get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            svc = (path.get("backend") or {}).get("service", {}).get("name", "")
            out.append((rule.get("host", ""), path.get("path", "/"), svc))
    return out


def _string_match(spec: dict, value: str | None) -> bool:
    if value is None:
        return False
    if "exact" in spec:
        return value == spec["exact"]
    if "prefix" in spec:
        return value.startswith(spec["prefix"])
    if "regex" in spec:
        return re.fullmatch(spec["regex"], value) is not None
    return True      # {} = presence


class Traffic:
    def __init__(self, store: ObjectStore, pods: PodSimulator, seed: int | None = None):
        self.store, self.pods = store, pods
        self.rng = random.Random(seed)
        self._served: dict[str, int] = {}      # requests served per image tag (error spacing)
        self.balancer = G.Balancer()           # the gateway's weighted round-robin
        self.mirrors = Mirrors()               # its RequestMirror filters
        self.answered: Counter = Counter()     # (app, version) -> requests it answered a user
        self.copied: Counter = Counter()       # (app, version) -> mirrored copies it got
        self.series = Series()                # every request, timed, for /api/v1/query

    # -- ingress-nginx ------------------------------------------------------------------
    def _ingress(self, namespace: str, host: str, path: str) -> tuple[dict, tuple, dict | None] | None:
        ingresses = self.store.list(ING, namespace)
        mains = [(i, r) for i in ingresses
                 if (i["metadata"].get("annotations") or {}).get(P + "canary") != "true"
                 for r in _rules(i) if (not host or r[0] in ("", host)) and path.startswith(r[1])]
        if not mains:
            return None
        main, rule = max(mains, key=lambda m: len(m[1][1]))
        canary = next((i for i in ingresses
                       if (i["metadata"].get("annotations") or {}).get(P + "canary") == "true"
                       and any(r[:2] == rule[:2] for r in _rules(i))), None)
        return main, rule, canary

    def _nginx_wants_canary(self, ann: dict, headers: dict, cookies: dict) -> bool:
        name = ann.get(P + "canary-by-header")
        if name:
            value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
            if ann.get(P + "canary-by-header-value"):
                if value == ann[P + "canary-by-header-value"]:
                    return True
            elif ann.get(P + "canary-by-header-pattern"):
                try:
                    if value is not None and re.search(ann[P + "canary-by-header-pattern"], value):
                        return True
                except re.error:
                    return False
            elif value == "always":
                return True
            elif value == "never":
                return False
        cookie = ann.get(P + "canary-by-cookie")
        if cookie and cookies.get(cookie) in ("always", "never"):
            return cookies[cookie] == "always"
        total = _int(ann.get(P + "canary-weight-total", 100), 100)
        total = total if total > 100 else 100
        weight = _int(ann.get(P + "canary-weight", 0))
        return self.rng.randint(1, total) <= weight

    # -- Istio --------------------------------------------------------------------------
    def _istio(self, namespace: str, service: str, path: str, headers: dict) -> tuple | None:
        """(destination host, subset labels, response headers the destination adds, the route's
        mirror as (host, subset, percent) or None) per the VirtualService for `service`, if any."""
        vs = next((v for v in self.store.list(VS, namespace) if service in v["spec"].get("hosts", [])), None)
        if vs is None:
            return None
        lowered = {k.lower(): v for k, v in headers.items()}
        for route in vs["spec"].get("http") or []:
            blocks = route.get("match")
            if blocks and not any(self._block_matches(b, path, lowered) for b in blocks):
                continue
            dests = route.get("route") or []
            weights = [d.get("weight", 0 if len(dests) > 1 else 100) for d in dests]
            if not dests or sum(weights) <= 0:
                return None
            pick = self.rng.uniform(0, sum(weights))
            for dest, weight in zip(dests, weights):
                if pick <= weight:
                    break
                pick -= weight
            d = dest["destination"]
            response = (dest.get("headers") or {}).get("response") or {}
            added = {k.lower(): v for k, v in {**(response.get("add") or {}), **(response.get("set") or {})}.items()}
            mirror = route.get("mirror")
            copy = (mirror["host"], mirror.get("subset"), float((route.get("mirrorPercentage") or {}).get("value", 100))) \
                if mirror else None
            return d["host"], self._subset(namespace, d["host"], d.get("subset")), added, copy
        return None

    @staticmethod
    def _block_matches(block: dict, path: str, headers: dict) -> bool:
        for name, spec in (block.get("headers") or {}).items():
            if not _string_match(spec, headers.get(name.lower())):
                return False
        for name, spec in (block.get("withoutHeaders") or {}).items():
            if _string_match(spec, headers.get(name.lower())):
                return False
        return "uri" not in block or _string_match(block["uri"], path)

    def _subset(self, namespace: str, host: str, subset: str | None) -> dict:
        if not subset:
            return {}
        for dr in self.store.list(DR, namespace):
            if dr["spec"].get("host") == host:
                for s in dr["spec"].get("subsets") or []:
                    if s["name"] == subset:
                        return s.get("labels") or {}
        return {"__missing_subset__": subset}     # Envoy answers 503 for an unknown subset

    # -- one request --------------------------------------------------------------------
    def request(self, **kwargs) -> dict:
        """One request (`_request`), counted by the version that answered the user and the
        version a mirror copied it to (`answered`, `copied`: {(app, version): n})."""
        result = self._request(**kwargs)
        if "version" in result:
            app = result.get("service", "").split("-")[0]
            self.answered[(app, result["version"])] += 1
            if "mirrored" in result:
                self.copied[(app, result["mirrored"])] += 1
        return result

    def _request(self, namespace: str = "default", path: str = "/", host: str = "",
                headers: dict | None = None, cookies: dict | None = None, service: str | None = None,
                gateway: str | None = None, method: str = "GET", query: dict | None = None, grpc: str = "") -> dict:
        """One request: through the named Gateway's HTTPRoutes (its GRPCRoutes for a `grpc` call,
        SERVICE/METHOD, the headers its metadata), else the Ingress for the path, else straight to
        `service`; then any Istio VirtualService for the chosen Service."""
        headers, cookies = dict(headers or {}), dict(cookies or {})
        if cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        with self.store.lock:
            if gateway and grpc:
                service_name, _, rpc = grpc.partition("/")
                return self._routed(namespace, GRPC.pick_rule(GRPC.attached(self.store, namespace, gateway),
                                                              service_name, rpc, headers, host), f"gRPC call {grpc}",
                                    headers)
            if gateway:
                return self._through_gateway(namespace, gateway, path, host, headers, method, query or {})
            canary = False
            if service is None:
                found = self._ingress(namespace, host, path)
                if found is None:
                    return {"status": 404, "error": f"no Ingress rule for {host}{path}"}
                main, rule, canary_ing = found
                service = rule[2]
                if canary_ing is not None and self._nginx_wants_canary(
                        canary_ing["metadata"].get("annotations") or {}, headers, cookies):
                    service = next(r[2] for r in _rules(canary_ing) if r[:2] == rule[:2])
                    canary = True
            routed = self._istio(namespace, service, path, headers)
            host_svc, subset, added, mirror = routed if routed else (service, {}, {}, None)
            served = self._serve(namespace, host_svc, subset, canary)
            if mirror and "version" in served and self.mirrors.take(("istio", namespace, service), mirror[2]):
                copied = self._serve(namespace, mirror[0], self._subset(namespace, mirror[0], mirror[1]), False)
                if "version" in copied:
                    served["mirrored"] = copied["version"]
            if "set-cookie" in added and "version" in served:
                served["set_cookie"] = added["set-cookie"]
            return served

    def _through_gateway(self, namespace: str, gateway: str, path: str, host: str, headers: dict,
                         method: str, query: dict) -> dict:
        found = G.pick_rule(G.attached(self.store, namespace, gateway), path, method, headers, query, host)
        return self._routed(namespace, found, f"{host}{path}", headers)

    def _routed(self, namespace: str, found: tuple[dict, tuple] | None, what: str, headers: dict) -> dict:
        """Serve through the rule a route picked (its weighted backends or the session's, its
        response filters, its mirror)."""
        if found is None:
            return {"status": 404, "error": f"no route rule for {what}"}
        rule, key = found
        session = sessions.pinned(rule, headers)
        ref = session or self.balancer.choose(rule, key)
        if ref is None:
            return {"status": 500, "error": "the rule has no backend with weight"}
        if self.store.get(SVC, ref.get("namespace") or namespace, ref["name"]) is None:
            return {"status": 500, "error": f"backend Service {ref['name']} not found", "service": ref["name"]}
        served = self._serve(ref.get("namespace") or namespace, ref["name"], {}, False)
        served["rule"] = rule.get("name", "")
        copied = self.mirrors.copy(rule, key, namespace, lambda ns, svc: self._serve(ns, svc, {}, False))
        if copied is not None and "version" in copied:
            served["mirrored"] = copied["version"]
        extra = G.response_headers(rule, ref)
        if "set-cookie" in extra:
            served["set_cookie"] = extra["set-cookie"]
        if session is None and (cookie := sessions.set_cookie(rule, ref)):
            served["set_cookie"] = cookie
        return served

    def _serve(self, namespace: str, service: str, subset: dict, canary: bool) -> dict:
        svc = self.store.get(SVC, namespace, service)
        if svc is None:
            return {"status": 503, "error": f"service {service} not found", "service": service}
        selector = {"matchLabels": dict(svc["spec"].get("selector") or {}, **subset)}
        ready = [p for p in self.store.peek(POD, namespace)
                 if svc["spec"].get("selector") and match_labels(selector, p["metadata"].get("labels"))
                 and self.pods.available(p, 0)]
        if not ready:
            return {"status": 503, "error": "no ready endpoints", "service": service}
        pod = self.rng.choice(ready)
        labels = pod["metadata"].get("labels") or {}
        tag = image_tag(pod["spec"]["containers"][0].get("image", ""))
        version = labels.get("version") or tag
        code = 500 if self._fails(tag) else 200
        self.series.add(namespace, labels.get("app", service), version, str(code))
        return {"status": code, "pod": pod["metadata"]["name"], "version": version,
                "image": pod["spec"]["containers"][0].get("image", ""), "service": service,
                "canary_ingress": canary}

    def _fails(self, tag: str) -> bool:
        """Exactly the image's share of its requests fail, spread evenly (every 25th for
        errors-4), so a gate sees the rate it was given, not a random draw around it."""
        rate = error_rate(tag)
        if not rate:
            return False
        served = self._served[tag] = self._served.get(tag, 0) + 1
        return int(served * rate) > int((served - 1) * rate)

    def preview(self, n: int, namespace: str, service: str, version: str) -> dict:
        """n requests to `service`'s pods of one version only (a preview Service's view)."""
        with self.store.lock:
            results = [self._serve(namespace, service, {"version": version}, False) for _ in range(n)]
        return {"total": n, "errors": sum(r["status"] >= 500 for r in results if "version" in r),
                "unserved": sum("version" not in r for r in results)}

    def batch(self, n: int, users: int = 0, **kwargs) -> dict:
        """n requests; with `users`, spread over that many simulated visitors who each keep the
        cookies the responses set (a browser's jar), to see stickiness per user."""
        versions: Counter = Counter()
        mirrored: Counter = Counter()          # copies a mirror filter sent (their answers dropped)
        failed = unserved = 0
        jars = [dict(kwargs.get("cookies") or {}) for _ in range(users)]
        seen: list[list[str]] = [[] for _ in range(users)]
        for i in range(n):
            if users:
                kwargs["cookies"] = jars[i % users]
            result = self.request(**kwargs)
            if "version" in result:
                versions[result["version"]] += 1
                if "mirrored" in result:
                    mirrored[result["mirrored"]] += 1
                failed += result["status"] >= 500
                if users:
                    seen[i % users].append(result["version"])
                    _keep_cookie(jars[i % users], result.get("set_cookie"))
            else:
                unserved += 1
        out = {"total": n, "versions": dict(versions), "errors": failed, "unserved": unserved,
               "mirrored": dict(mirrored)}
        if users:
            out["users"] = {"count": users, "switched": sum(len(set(s)) > 1 for s in seen),
                            "first": dict(Counter(s[0] for s in seen if s))}
        return out


def error_rate(tag: str) -> float:
    """The share of requests an image fails: `errors` 20%, `errors-4` 4%, others none."""
    if "errors" not in tag:
        return 0.0
    m = re.search(r"errors-(\d{1,3})", tag)
    return min(100, int(m.group(1))) / 100 if m else 0.2


def _keep_cookie(jar: dict, set_cookie: str | None) -> None:
    """What a browser does with `Set-Cookie: NAME=VALUE; Max-Age=N` (N <= 0 deletes it)."""
    if not set_cookie or "=" not in set_cookie:
        return
    first, *attrs = [part.strip() for part in set_cookie.split(";")]
    name, value = first.split("=", 1)
    max_age = next((a.split("=", 1)[1] for a in attrs if a.lower().startswith("max-age=")), None)
    if max_age is not None and _int(max_age, 1) <= 0:
        jar.pop(name, None)
    else:
        jar[name] = value
