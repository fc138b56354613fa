"""GRPCRoute (gateway.networking.k8s.io/v1, GA since v1.1) as a conformant implementation plays
it: the CRD's defaults and validation, and the routing of a gRPC call by the specification's rule
precedence (gateway-api apis/v1/grpcroute_types.go). Its status comes from the same gateway
controller as HTTPRoutes' (sandbox/gateway.py); a call is `SERVICE/METHOD` with its metadata.
"""
from __future__ import annotations

from .errors import invalid
from .gateway import GROUP, MAX_WEIGHT, _hostname_ok, _value_matches
from .gateway import attached as attached_routes
from .objstore import ObjectStore

GRPC = (GROUP, "grpcroutes")


def default_grpcroute(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    for ref in spec.get("parentRefs") or []:
        ref.setdefault("group", GROUP)
        ref.setdefault("kind", "Gateway")
    for rule in spec.setdefault("rules", [{}]):
        for match in rule.get("matches") or []:
            if "method" in match:
                match["method"].setdefault("type", "Exact")
            for header in match.get("headers") or []:
                header.setdefault("type", "Exact")
        for ref in rule.get("backendRefs") or []:
            ref.setdefault("group", "")
            ref.setdefault("kind", "Service")
            ref.setdefault("weight", 1)


def validate_grpcroute(obj: dict) -> None:
    causes = []
    rules = obj["spec"].get("rules") or []
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
            method = match.get("method")
            if method is not None and (method.get("type") not in ("Exact", "RegularExpression")
                                       or not (method.get("service") or method.get("method"))):
                causes.append((f"spec.rules[{i}].matches[{j}].method",
                               "Invalid value: one or both of 'service' or 'method' must be specified"))
            for k, header in enumerate(match.get("headers") or []):
                if header.get("type") not in ("Exact", "RegularExpression") or not header.get("name"):
                    causes.append((f"spec.rules[{i}].matches[{j}].headers[{k}]",
                                   "Invalid value: needs a name and type Exact or RegularExpression"))
    if causes:
        raise invalid("GRPCRoute", GROUP, obj["metadata"]["name"], causes)


def match_applies(match: dict, service: str, method: str, metadata: dict) -> bool:
    lowered = {k.lower(): v for k, v in metadata.items()}
    wanted = match.get("method") or {}
    return ((not wanted.get("service") or _value_matches({"type": wanted.get("type", "Exact"),
                                                         "value": _whole(wanted, "service")}, service))
            and (not wanted.get("method") or _value_matches({"type": wanted.get("type", "Exact"),
                                                             "value": _whole(wanted, "method")}, method))
            and all(_value_matches(h, lowered.get(h["name"].lower())) for h in match.get("headers") or []))


def _whole(wanted: dict, part: str) -> str:
    """A regular expression matches the whole service or method name, as the specification says."""
    value = str(wanted[part])
    return f"^(?:{value})$" if wanted.get("type") == "RegularExpression" else value


def precedence(match: dict) -> tuple:
    """Bigger wins: the characters of a matching service, then of a matching method, then the
    number of header matches (GRPCRouteRule's ordering; hostnames are checked before)."""
    method = match.get("method") or {}
    return len(method.get("service") or ""), len(method.get("method") or ""), len(match.get("headers") or [])


def pick_rule(routes: list[dict], service: str, method: str, metadata: dict,
              host: str = "") -> tuple[dict, tuple] | None:
    best, best_key, best_id = None, None, None
    ordered = sorted(routes, key=lambda r: (r["metadata"]["creationTimestamp"], r["metadata"]["namespace"],
                                            r["metadata"]["name"]))
    for age, route in enumerate(ordered):
        if not _hostname_ok(route, host):
            continue
        for i, rule in enumerate(route["spec"].get("rules") or []):
            for j, match in enumerate(rule.get("matches") or [{}]):
                if match_applies(match, service, method, metadata):
                    key = (precedence(match), -age, -i, -j)
                    if best_key is None or key > best_key:
                        best, best_key, best_id = rule, key, (route["metadata"]["uid"], i)
    return (best, best_id) if best is not None else None


def attached(store: ObjectStore, namespace: str, gateway: str) -> list[dict]:
    return attached_routes(store, namespace, gateway, GRPC)
