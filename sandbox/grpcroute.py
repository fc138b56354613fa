"""GRPCRoute (gateway.networking.k8s.io/v1, GA since v1.1) as a conformant implementation plays
it: the CRD's defaults and validation, and the routing of a gRPC call by the specification's rule
precedence (gateway-api apis/v1/grpcroute_types.go). Its status comes from the same gateway
controller as HTTPRoutes' (sandbox/gateway.py); a call is `SERVICE/METHOD` with its metadata.
"""
from __future__ import annotations

from .errors import invalid
from .gateway import GROUP, _value_matches, pick_by, rule_causes
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
    rules = obj["spec"].get("rules") or []
    causes = rule_causes(rules)
    for i, rule in enumerate(rules):
        for j, match in enumerate(rule.get("matches") or []):
            method = match.get("method")
            if method is not None and (method.get("type") not in ("Exact", "RegularExpression")
                                       or not (method.get("service") or method.get("method"))):
                causes.append((f"spec.rules[{i}].matches[{j}].method",
                               "Invalid value: one or both of 'service' or 'method' must be specified"))
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
    return pick_by(routes, host, lambda m: match_applies(m, service, method, metadata), precedence)


def attached(store: ObjectStore, namespace: str, gateway: str) -> list[dict]:
    return attached_routes(store, namespace, gateway, GRPC)
