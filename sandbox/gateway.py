"""Gateway API (gateway.networking.k8s.io/v1) as a conformant implementation plays it: the CRD's
defaults and validation, a gateway controller that writes `status` for the Gateways of its
GatewayClass and the HTTPRoutes attached to them, and request routing by the specification's
precedence (the Gateway API specification: gateway-api apis/v1/httproute_types.go).
"""
from __future__ import annotations

import re

from .errors import invalid
from .objstore import ObjectStore, now_rfc3339

GROUP = "gateway.networking.k8s.io"
CONTROLLER = "sandbox.graybot.io/gateway-controller"
GWC, GW, ROUTE, GRPC = (GROUP, "gatewayclasses"), (GROUP, "gateways"), (GROUP, "httproutes"), (GROUP, "grpcroutes")
SVC, POD = ("", "services"), ("", "pods")
MAX_WEIGHT = 1_000_000


# -- CRD defaults and validation (what the apiserver applies from the CRD's schema) ----------
def default_httproute(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    for ref in spec.get("parentRefs") or []:
        ref.setdefault("group", GROUP)
        ref.setdefault("kind", "Gateway")
    rules = spec.setdefault("rules", [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}])
    for rule in rules:
        matches = rule.setdefault("matches", [{"path": {"type": "PathPrefix", "value": "/"}}])
        for match in matches:
            if "path" in match:
                match["path"].setdefault("type", "PathPrefix")
                match["path"].setdefault("value", "/")
            for header in match.get("headers") or []:
                header.setdefault("type", "Exact")
            for param in match.get("queryParams") or []:
                param.setdefault("type", "Exact")
        for ref in rule.get("backendRefs") or []:
            ref.setdefault("group", "")
            ref.setdefault("kind", "Service")
            ref.setdefault("weight", 1)


def rule_causes(rules: list[dict]) -> list[tuple[str, str]]:
    """What the route CRDs (HTTPRoute, GRPCRoute) refuse in any route: more than 16 rules, a rule
    name twice, a weight out of range; and in any match, a header without a name or type."""
    causes = []
    if len(rules) > 16:
        causes.append(("spec.rules", "Too many: must have at most 16 items"))
    names = [r["name"] for r in rules if r.get("name")]
    if len(names) != len(set(names)):
        causes.append(("spec.rules", "Invalid value: rule names must be unique within the route"))
    for i, rule in enumerate(rules):
        for j, ref in enumerate(rule.get("backendRefs") or []):
            weight = ref.get("weight")
            if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= MAX_WEIGHT:
                causes.append((f"spec.rules[{i}].backendRefs[{j}].weight",
                               f"Invalid value: {weight!r}: must be between 0 and {MAX_WEIGHT}"))
        for j, match in enumerate(rule.get("matches") or []):
            for k, header in enumerate(match.get("headers") or []):
                if header.get("type") not in ("Exact", "RegularExpression") or not header.get("name"):
                    causes.append((f"spec.rules[{i}].matches[{j}].headers[{k}]",
                                   "Invalid value: needs a name and type Exact or RegularExpression"))
    return causes


def validate_httproute(obj: dict) -> None:
    rules = obj["spec"].get("rules") or []
    causes = rule_causes(rules)
    for i, rule in enumerate(rules):
        for j, match in enumerate(rule.get("matches") or []):
            path = match.get("path") or {}
            if path and path.get("type") not in ("Exact", "PathPrefix", "RegularExpression"):
                causes.append((f"spec.rules[{i}].matches[{j}].path.type", "Unsupported value"))
            if path and not str(path.get("value", "/")).startswith("/") and path.get("type") != "RegularExpression":
                causes.append((f"spec.rules[{i}].matches[{j}].path.value", "Invalid value: must be an absolute path"))
    if causes:
        raise invalid("HTTPRoute", GROUP, obj["metadata"]["name"], causes)


# -- the controller: status for Gateways, HTTPRoutes and GRPCRoutes ---------------------------------------
def _condition(kind: str, ok: bool, reason: str, message: str, generation: int, old: list[dict]) -> dict:
    status = "True" if ok else "False"
    before = next((c for c in old if c.get("type") == kind), None)
    since = before["lastTransitionTime"] if before and before.get("status") == status else now_rfc3339()
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": since}


FEATURES = ("Gateway", "GRPCRoute", "HTTPRoute", "HTTPRouteMethodMatching", "HTTPRouteQueryParamMatching",
            "HTTPRouteRequestMirror", "HTTPRouteRequestPercentageMirror", "HTTPRouteResponseHeaderModification")
UNSUPPORTED = "sandbox.graybot.io/unsupported-features"     # a class that plays a less capable implementation


def supported_features(cls: dict) -> list[dict]:
    """GEP-2162: the class's `status.supportedFeatures`, sorted by name; the annotation takes
    some away (comma-separated names) to play an implementation without them."""
    missing = {f.strip() for f in ((cls["metadata"].get("annotations") or {}).get(UNSUPPORTED) or "").split(",")}
    return [{"name": f} for f in FEATURES if f not in missing]


class GatewayController:
    """Claims the GatewayClasses naming CONTROLLER, programs their Gateways and reports, for
    each HTTPRoute parentRef to one of them, Accepted and ResolvedRefs for the route's current
    generation. Parents it does not own get no status entry (no controller speaks for them)."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def _ours(self, gateway: dict) -> bool:
        cls = self.store.get(GWC, "", gateway["spec"].get("gatewayClassName", ""))
        return cls is not None and cls["spec"].get("controllerName") == CONTROLLER

    def sync(self) -> None:
        for cls in self.store.peek(GWC):
            if cls["spec"].get("controllerName") == CONTROLLER:
                self._write(GWC, cls, {"conditions": [_condition(
                    "Accepted", True, "Accepted", "", cls["metadata"].get("generation", 1),
                    (cls.get("status") or {}).get("conditions") or [])],
                    "supportedFeatures": supported_features(cls)})
        for gw in self.store.peek(GW):
            if self._ours(gw):
                old = (gw.get("status") or {}).get("conditions") or []
                gen = gw["metadata"].get("generation", 1)
                self._write(GW, gw, {"conditions": [_condition("Accepted", True, "Accepted", "", gen, old),
                                                     _condition("Programmed", True, "Programmed", "", gen, old)],
                                     "addresses": [{"type": "IPAddress", "value": "10.0.0.80"}]})
        for kind in (ROUTE, GRPC):
            for route in self.store.peek(kind):
                self._route_status(route, kind)

    def _write(self, skey, obj: dict, status: dict) -> None:
        if obj.get("status") != status:
            fresh = dict(obj, status=status)
            self.store.update(skey, fresh)

    def _route_status(self, route: dict, kind: tuple = ROUTE) -> None:
        ns, gen = route["metadata"]["namespace"], route["metadata"].get("generation", 1)
        old = {_ref_key(p["parentRef"], ns): p for p in (route.get("status") or {}).get("parents") or []
               if p.get("controllerName") != CONTROLLER}
        parents = list(old.values())            # entries other controllers own stay as they are
        before = {_ref_key(p["parentRef"], ns): p for p in (route.get("status") or {}).get("parents") or []}
        resolved, why = self._resolved(route)
        for ref in route["spec"].get("parentRefs") or []:
            gw = self.store.get(GW, ref.get("namespace") or ns, ref.get("name", ""))
            if gw is None or not self._ours(gw):
                continue
            accepted, reason, message = self._accepted(route, ref, gw)
            prior = (before.get(_ref_key(ref, ns)) or {}).get("conditions") or []
            parents.append({"parentRef": ref, "controllerName": CONTROLLER, "conditions": [
                _condition("Accepted", accepted, reason, message, gen, prior),
                _condition("ResolvedRefs", resolved, "ResolvedRefs" if resolved else "BackendNotFound",
                           why, gen, prior)]})
        self._write(kind, route, {"parents": parents})

    @staticmethod
    def _accepted(route: dict, ref: dict, gw: dict) -> tuple[bool, str, str]:
        listeners = gw["spec"].get("listeners") or []
        if ref.get("sectionName"):
            listeners = [li for li in listeners if li.get("name") == ref["sectionName"]]
            if not listeners:
                return False, "NoMatchingParent", f"no listener named {ref['sectionName']!r} on the Gateway"
        same = gw["metadata"]["namespace"] == route["metadata"]["namespace"]
        allowed = [li for li in listeners
                   if ((li.get("allowedRoutes") or {}).get("namespaces") or {}).get("from", "Same") == "All" or same]
        if not allowed:
            return False, "NotAllowedByListeners", "no listener of the Gateway allows routes from this namespace"
        return True, "Accepted", "Route is accepted"

    def _resolved(self, route: dict) -> tuple[bool, str]:
        ns = route["metadata"]["namespace"]
        for rule in route["spec"].get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if ref.get("kind", "Service") != "Service" or ref.get("group", "") != "":
                    return False, f"unsupported backend kind {ref.get('kind')!r}"
                if self.store.get(SVC, ref.get("namespace") or ns, ref["name"]) is None:
                    return False, f'Service "{ref["name"]}" not found'
        return True, "all backend references are resolved"


def _ref_key(ref: dict, ns: str) -> tuple:
    return ref.get("name"), ref.get("namespace") or ns, ref.get("sectionName")


# -- routing a request (the data plane) -------------------------------------------------------
def _path_matches(path_match: dict, path: str) -> bool:
    kind, value = path_match.get("type", "PathPrefix"), path_match.get("value", "/")
    if kind == "Exact":
        return path == value
    if kind == "RegularExpression":
        return re.fullmatch(value, path) is not None
    prefix = value.rstrip("/")               # element-wise: /foo matches /foo and /foo/x, not /foobar
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


def _value_matches(spec: dict, value: str | None) -> bool:
    if value is None:
        return False
    if spec.get("type", "Exact") == "RegularExpression":
        try:
            return re.search(spec["value"], value) is not None    # RE2-style search, anchors explicit
        except re.error:
            return False
    return value == spec.get("value")


def match_applies(match: dict, path: str, method: str, headers: dict, query: dict) -> bool:
    lowered = {k.lower(): v for k, v in headers.items()}
    return (_path_matches(match.get("path") or {"type": "PathPrefix", "value": "/"}, path)
            and (not match.get("method") or match["method"] == method)
            and all(_value_matches(h, lowered.get(h["name"].lower())) for h in match.get("headers") or [])
            and all(_value_matches(q, query.get(q["name"])) for q in match.get("queryParams") or []))


def precedence(match: dict) -> tuple:
    """Bigger wins: exact path, then the longest prefix, then a method, then the most header
    matches, then the most query matches (the HTTPRouteRule ordering in the specification)."""
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind = path.get("type", "PathPrefix")
    return (kind == "Exact", len(path.get("value", "/")) if kind != "RegularExpression" else -1,
            bool(match.get("method")), len(match.get("headers") or []), len(match.get("queryParams") or []))


def _hostname_ok(route: dict, host: str) -> bool:
    names = route["spec"].get("hostnames") or []
    return not names or not host or any(
        host == n or (n.startswith("*.") and host.endswith(n[1:])) for n in names)


def attached(store: ObjectStore, namespace: str, gateway: str, kind: tuple = ROUTE) -> list[dict]:
    """Routes (HTTPRoutes, or `kind`) in `namespace` the named Gateway has accepted (per their status)."""
    out = []
    for route in store.peek(kind, namespace):
        for parent in (route.get("status") or {}).get("parents") or []:
            ref = parent["parentRef"]
            accepted = any(c["type"] == "Accepted" and c["status"] == "True" for c in parent.get("conditions") or [])
            if ref.get("name") == gateway and (ref.get("namespace") or namespace) == namespace and accepted:
                out.append(route)
                break
    return out


def pick_rule(routes: list[dict], path: str, method: str, headers: dict, query: dict,
              host: str = "") -> tuple[dict, tuple] | None:
    """(the winning rule, a key naming it) for a request, or None."""
    return pick_by(routes, host, lambda m: match_applies(m, path, method, headers, query), precedence)


def pick_by(routes: list[dict], host: str, applies, rank) -> tuple[dict, tuple] | None:
    """The rule whose matching match ranks highest (`rank`), ties to the oldest route and its
    first rule: the specification's ordering for HTTPRoutes and GRPCRoutes alike."""
    best, best_key, best_id = None, None, None
    ordered = sorted(routes, key=lambda r: (r["metadata"]["creationTimestamp"], r["metadata"]["namespace"],
                                            r["metadata"]["name"]))
    for age, route in enumerate(ordered):
        if not _hostname_ok(route, host):
            continue
        for i, rule in enumerate(route["spec"].get("rules") or []):
            for j, match in enumerate(rule.get("matches") or [{}]):
                if applies(match):
                    key = (rank(match), -age, -i, -j)    # ties: oldest route, first rule
                    if best_key is None or key > best_key:
                        best, best_key, best_id = rule, key, (route["metadata"]["uid"], i)
    return (best, best_id) if best is not None else None


class Balancer:
    """Smooth weighted round-robin per rule (as nginx balances upstreams): over any run of
    requests each backend gets its share to within one request, so a split is exact."""

    def __init__(self):
        self.current: dict[tuple, list[int]] = {}

    def choose(self, rule: dict, key: tuple) -> dict | None:
        refs = [r for r in rule.get("backendRefs") or [] if r.get("weight", 1) > 0]
        weights = [r.get("weight", 1) for r in refs]
        if not refs:
            return None
        state = self.current.get(key)
        if state is None or len(state) != len(refs) or self.current.get(key + ("w",)) != weights:
            state, self.current[key + ("w",)] = [0] * len(refs), weights
        state = [c + w for c, w in zip(state, weights)]
        best = max(range(len(refs)), key=lambda i: state[i])
        state[best] -= sum(weights)
        self.current[key] = state
        return refs[best]


def response_headers(rule: dict, ref: dict) -> dict[str, str]:
    """Headers the rule's and the backendRef's ResponseHeaderModifier filters add or set."""
    out: dict[str, str] = {}
    for flt in list(rule.get("filters") or []) + list(ref.get("filters") or []):
        if flt.get("type") == "ResponseHeaderModifier":
            mod = flt.get("responseHeaderModifier") or {}
            for header in list(mod.get("add") or []) + list(mod.get("set") or []):
                out[header["name"].lower()] = header["value"]
    return out
