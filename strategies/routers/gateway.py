"""Gateway API: the app's HTTPRoute rule (or GRPCRoute rule, for an app with `grpcroute:`) gets
the new version's Service `APP-VERSION` as a second weighted backendRef; an A/B segment and sticky
users are extra rules graybot names `graybot-*` (a GRPCRoute segment matches gRPC metadata, which
is HTTP/2 headers).

HTTPRoute picks the most specific rule, not the first, so every rule graybot adds copies the
path, method and query matches of the rule it shadows and adds one header match (the
specification's rule precedence). Weight moves only to a Service with Ready endpoints, a stage counts as applied
only when the route's parents report Accepted and ResolvedRefs for graybot's generation, and
rollback puts back the rule exactly as it was (the original is kept in the release's origin).
"""
from __future__ import annotations

import copy
import time

from bot.adapters.kube import Kube, KubeError
from bot.domain.apps import AppSpec
from bot.domain.model import Release, Stage
from bot.domain.plans import PlanError, Progress, Target

from . import match_of
from .gateway_sticky import cookie_header, persistence_shape, session_persistence, set_cookie, sticky_cookie
from ..selectors import ensure_version_service, pinned_origin, point_service, stable_label, version_selector

OWNED = "graybot-"                     # the prefix of the rules graybot adds and removes
RELEASE_LABEL = "graybot.io/release"   # "in-progress" while a release owns the route's rules
ACCEPT_TIMEOUT = 30.0                  # seconds for a Gateway to accept a write before the stage fails
MAX_RULES = 16                         # the HTTPRoute CRD's limit
HTTP, GRPC = "httproutes", "grpcroutes"
MIRROR_FEATURES = ("HTTPRouteRequestMirror", "HTTPRouteRequestPercentageMirror")
KINDS = {HTTP: "HTTPRoute", GRPC: "GRPCRoute"}


def segment_header(match: dict) -> dict:
    if match["kind"] == "cookie":
        return cookie_header(match["name"], "always")
    kind = "RegularExpression" if match.get("regex") else "Exact"
    return {"type": kind, "name": match["name"], "value": match["value"]}


def _owned(rule: dict) -> bool:
    return str(rule.get("name", "")).startswith(OWNED)


def _theirs(rules: list[dict]) -> list[dict]:
    return [r for r in rules if not _owned(r)]


def find_rule(rules: list[dict], service: str, wanted: str | int | None) -> int | None:
    """The index of the rule graybot drives: by name, by index, or the first sending to `service`."""
    if isinstance(wanted, int):
        return wanted if 0 <= wanted < len(rules) else None
    if wanted:
        return next((i for i, r in enumerate(rules) if r.get("name") == wanted), None)
    return next((i for i, r in enumerate(rules)
                 if any(ref.get("name") == service for ref in r.get("backendRefs") or [])), None)


def _shadow(rule: dict, name: str, header: dict, refs: list[dict], grpc: bool = False) -> dict:
    """A rule that wins over `rule` for requests with `header`: same path/method/query (a
    GRPCRoute's: same service and method), one header more (so it is more specific by the
    specification's ordering), its own backends."""
    matches = []
    for m in rule.get("matches") or [{} if grpc else {"path": {"type": "PathPrefix", "value": "/"}}]:
        m = copy.deepcopy(m)
        m["headers"] = list(m.get("headers") or []) + [header]
        matches.append(m)
    shadow = {"name": name, "matches": matches, "backendRefs": refs}
    if rule.get("filters"):
        shadow["filters"] = copy.deepcopy(rule["filters"])
    return shadow


def read_route(kube: Kube, plural: str, ns: str, name: str) -> dict | None:
    return kube.grpcroute(ns, name) if plural == GRPC else kube.httproute(ns, name)


def replace_route(kube: Kube, plural: str, ns: str, name: str, body: dict) -> dict:
    return kube.replace_grpcroute(ns, name, body) if plural == GRPC else kube.replace_httproute(ns, name, body)


class GatewayRouter:
    name = "gateway"
    exact_weights = True

    # -- planning ----------------------------------------------------------------------
    def origin(self, kube: Kube, target: Target) -> dict:
        app, pinned = target.app, pinned_origin(kube, target, self.name)
        plural, name = (GRPC, app.grpcroute) if app.grpcroute else (HTTP, app.httproute)
        kind = KINDS[plural]
        route = read_route(kube, plural, app.namespace, name)
        if route is None:
            raise PlanError(f"{kind} {name} not found in {app.namespace} (apps.yaml `{kind.lower()}:`)")
        rules = route["spec"].get("rules") or []
        if any(_owned(r) for r in rules):
            raise PlanError(f"{kind} {name} still has graybot rules from an earlier release; "
                            "remove the rules named graybot-* first")
        index = find_rule(rules, app.service, app.rule)
        if index is None:
            which = f"rule {app.rule!r}" if app.rule not in (None, "") else f"a rule sending to Service {app.service}"
            raise PlanError(f"{kind} {name} has no {which} (apps.yaml `rule:`)")
        if not any(ref.get("name") == app.service for ref in rules[index].get("backendRefs") or []):
            raise PlanError(f"rule {index} of {kind} {name} does not send to Service {app.service}")
        if len(rules) + 3 > MAX_RULES:
            raise PlanError(f"{kind} {name} has {len(rules)} rules; graybot needs room for 3 more "
                            f"(the limit is {MAX_RULES})")
        # kept under "httproute" (the key saved releases already have) whichever kind it is
        return {**pinned, "httproute": {"name": name, "plural": plural, "rule": index, "spec": route["spec"],
                                        "labels": route["metadata"].get("labels") or {},
                                        "persistence": "" if plural == GRPC else persistence_shape(kube)}}

    def mirror_problem(self, kube: Kube, target: Target) -> str:
        """Copying a share of requests is an Extended feature: the route's Gateways' class must
        list it in `status.supportedFeatures` (GEP-2162)."""
        app = target.app
        if app.grpcroute:
            return "--mirror copies HTTP requests; this app's route is a GRPCRoute"
        route = kube.httproute(app.namespace, app.httproute)
        if route is None:
            return f"HTTPRoute {app.httproute} not found in {app.namespace} (apps.yaml `httproute:`)"
        for ref in route["spec"].get("parentRefs") or []:
            gateway = kube.gateway(ref.get("namespace") or app.namespace, ref["name"])
            cls = gateway and kube.gatewayclass(gateway["spec"].get("gatewayClassName", ""))
            features = {f.get("name") if isinstance(f, dict) else f
                        for f in ((cls or {}).get("status") or {}).get("supportedFeatures") or []}
            missing = [f for f in MIRROR_FEATURES if f not in features]
            if missing:
                return (f"Gateway {ref['name']} (class {(gateway or {}).get('spec', {}).get('gatewayClassName', '?')}) "
                        f"does not support {' and '.join(missing)} (its GatewayClass's status.supportedFeatures): "
                        "it cannot copy a share of requests; nothing was changed")
        return ""

    # -- the route's desired shape -----------------------------------------------------
    @staticmethod
    def _saved(release: Release) -> dict:
        return release.origin["httproute"]

    def _plural(self, release: Release) -> str:
        return self._saved(release).get("plural", HTTP)

    def _staged(self, app: AppSpec, release: Release, current: dict, stage: Stage) -> list[dict]:
        weight = stage.weight
        saved = self._saved(release)
        rules = _theirs(current["spec"].get("rules") or [])
        original = saved["spec"]["rules"][saved["rule"]]
        stable = next(r for r in original["backendRefs"] if r.get("name") == app.service)
        new = {"group": "", "kind": "Service", "name": release.new_name, "port": stable.get("port", 80)}
        old_ref, new_ref = dict(copy.deepcopy(stable), weight=100 - weight), dict(new, weight=weight)
        extra, grpc = [], self._plural(release) == GRPC
        if (match := match_of(release)) is not None:
            extra.append(_shadow(original, "graybot-ab", segment_header(match), [dict(new, weight=1)], grpc))
        own_sessions = release.command.sticky and bool(saved.get("persistence"))   # the CRD serves it
        if release.command.sticky and not own_sessions:
            cookie = sticky_cookie(app.name)
            old_ref = set_cookie(old_ref, cookie, stable_label(release))
            new_ref = set_cookie(new_ref, cookie, release.to_version)
            extra.append(_shadow(original, "graybot-sticky-new", cookie_header(cookie, release.to_version),
                                 [dict(new, weight=1)]))
            extra.append(_shadow(original, "graybot-sticky-old", cookie_header(cookie, stable_label(release)),
                                 [dict(copy.deepcopy(stable), weight=1)]))
        target = dict(copy.deepcopy(original), backendRefs=[
            old_ref if r is stable else copy.deepcopy(r) for r in original["backendRefs"]] + [new_ref])
        if own_sessions:
            target["sessionPersistence"] = session_persistence(saved["persistence"], sticky_cookie(app.name))
        if stage.mirror:        # a shadow: copies of the stage's share to the new Service, answers dropped
            target["backendRefs"] = copy.deepcopy(original["backendRefs"])
            target["filters"] = list(target.get("filters") or []) + [{
                "type": "RequestMirror", "requestMirror": {"backendRef": new, "percent": stage.mirror}}]
        i = saved["rule"]
        return rules[:i] + extra + [target] + rules[i + 1:]

    def _restored(self, release: Release, current: dict) -> list[dict]:
        saved = self._saved(release)
        rules = _theirs(current["spec"].get("rules") or [])
        i = saved["rule"]
        return rules[:i] + [copy.deepcopy(saved["spec"]["rules"][i])] + rules[i + 1:]

    def _write(self, kube: Kube, release: Release, shape) -> dict | None:
        """Read, reshape, replace with the read resourceVersion; a 409 means someone else wrote
        in between: read again and redo (optimistic concurrency). None when nothing changed."""
        ns, name, plural = release.namespace, self._saved(release)["name"], self._plural(release)
        for _ in range(5):
            current = read_route(kube, plural, ns, name)
            if current is None:
                raise KubeError(404, "NotFound", f"{KINDS[plural]} {name} is gone")
            wanted = shape(current)
            if wanted["spec"] == current["spec"] and \
                    (wanted["metadata"].get("labels") or {}) == (current["metadata"].get("labels") or {}):
                return None
            try:
                return replace_route(kube, plural, ns, name, wanted)
            except KubeError as err:
                if err.status != 409:
                    raise
        raise KubeError(409, "Conflict", f"{KINDS[plural]} {name} kept changing under graybot; will retry")

    def _shape(self, release: Release, rules_of, in_progress: bool):
        saved = self._saved(release)

        def shape(current: dict) -> dict:
            out = copy.deepcopy(current)
            out.pop("status", None)
            out["spec"]["rules"] = rules_of(current)
            labels = dict(saved["labels"])
            if in_progress:
                labels[RELEASE_LABEL] = "in-progress"
            out["metadata"]["labels"] = labels
            if not labels:          # a route that had no labels gets none back, not an empty map
                out["metadata"].pop("labels")
            return out
        return shape

    # -- the six steps -----------------------------------------------------------------
    def prepare(self, kube: Kube, app: AppSpec, release: Release) -> None:
        point_service(kube, release.namespace, app.service, version_selector(app, stable_label(release)))
        ensure_version_service(kube, app, release)

    def route(self, kube: Kube, app: AppSpec, release: Release, stage: Stage) -> Progress | None:
        if (unready := self._endpoints_missing(kube, release)) is not None:
            return Progress(False, unready)
        written = self._write(kube, release, self._shape(
            release, lambda cur: self._staged(app, release, cur, stage), in_progress=True))
        route = written or read_route(kube, self._plural(release), release.namespace, self._saved(release)["name"])
        return self._accepted(route, release)

    def promote(self, kube: Kube, app: AppSpec, release: Release) -> None:
        point_service(kube, release.namespace, app.service, version_selector(app, release.to_version))
        self._write(kube, release, self._shape(release, lambda cur: self._restored(release, cur), False))

    def retire(self, kube: Kube, app: AppSpec, release: Release) -> None:
        kube.delete_service(release.namespace, release.new_name)

    def revert(self, kube: Kube, app: AppSpec, release: Release) -> None:
        if read_route(kube, self._plural(release), release.namespace, self._saved(release)["name"]) is not None:
            self._write(kube, release, self._shape(release, lambda cur: self._restored(release, cur), False))
        point_service(kube, release.namespace, app.service, version_selector(app, stable_label(release)))

    def tidy(self, kube: Kube, app: AppSpec, release: Release) -> None:
        kube.delete_service(release.namespace, release.new_name)
        original = release.origin.get("service_selector")
        if original:
            point_service(kube, release.namespace, app.service, original)

    # -- safety checks -----------------------------------------------------------------
    @staticmethod
    def _endpoints_missing(kube: Kube, release: Release) -> str | None:
        """Why no weight may move to the new Service yet (a backend without endpoints answers 503)."""
        svc = kube.service(release.namespace, release.new_name)
        if svc is None:
            return f"Service {release.new_name} does not exist yet; no weight moves to it"
        pods = kube.pods(release.namespace, svc["spec"].get("selector") or {"graybot.io/none": "none"})
        ready = sum(any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in (p.get("status") or {}).get("conditions") or []) for p in pods)
        return None if ready else f"Service {release.new_name} has no Ready endpoints yet"

    @staticmethod
    def _accepted(route: dict | None, release: Release) -> Progress | None:
        saved = release.origin["httproute"]
        name = f"{KINDS[saved.get('plural', HTTP)]} {saved['name']}"
        if route is None:
            return Progress(False, failure=f"{name} is gone")
        generation = route["metadata"].get("generation", 1)
        seen = False
        for parent in (route.get("status") or {}).get("parents") or []:
            for cond in parent.get("conditions") or []:
                if cond.get("type") not in ("Accepted", "ResolvedRefs") or \
                        cond.get("observedGeneration", 0) < generation:
                    continue
                seen = True
                if cond.get("status") != "True":
                    return Progress(False, failure=f"{name}: {cond['type']} is False "
                                                   f"({cond.get('reason', '')}): {cond.get('message', '')}")
        if seen:
            return None
        if time.time() - release.updated_at > ACCEPT_TIMEOUT:
            return Progress(False, failure=f"{name}: no Gateway accepted generation {generation} "
                                           f"within {ACCEPT_TIMEOUT:g}s (status.parents has no conditions for it)")
        return Progress(False, f"{name}: waiting for the Gateway to accept generation {generation}")
