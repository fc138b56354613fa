"""Istio: DestinationRule subsets by `version` label and VirtualService route weights (and an
A/B match route first), as custom objects through the official client."""
from __future__ import annotations

from bot.adapters.kube import Kube
from bot.domain.model import Release, Stage
from bot.domain.plans import PlanError, Target, version_label
from bot.domain.apps import AppSpec

from . import match_of
from ..selectors import stable_label

VS, DR = Kube.ISTIO_PLURALS


STICKY_AGE = 86400


def _dest(host: str, subset: str, weight: int | None = None, cookie: str | None = None) -> dict:
    d = {"destination": {"host": host, "subset": subset}}
    if weight is not None:
        d["weight"] = weight
    if cookie is not None:       # sticky: the response tells the browser which version it got
        d["headers"] = {"response": {"add": {"set-cookie": f"{cookie}={subset}; Max-Age={STICKY_AGE}; Path=/"}}}
    return d


def cookie_block(name: str, value: str) -> dict:
    return {"headers": {"cookie": {"regex": rf"^(.*?;\s*)?({name}={value})(;.*)?$"}}}


def match_block(match: dict) -> dict:
    if match["kind"] == "header":
        # Envoy's safe_regex matches the whole value: a search-style pattern gets .* around it
        value = {"regex": f".*(?:{match['value']}).*"} if match.get("regex") else {"exact": match["value"]}
        return {"headers": {match["name"].lower(): value}}
    # a cookie reaches Envoy inside the `cookie` header; same meaning as nginx: NAME=always
    return {"headers": {"cookie": {"regex": rf"^(.*?;\s*)?({match['name']}=always)(;.*)?$"}}}


class IstioRouter:
    name = "istio"
    exact_weights = True

    def origin(self, kube: Kube, target: Target) -> dict:
        label = version_label(target.stable)
        if label is None:
            raise PlanError(f"{target.stable_name}'s pods carry no `version` label; Istio subsets "
                            "select by version")
        return {"stable_version_label": label}

    def mirror_problem(self, kube: Kube, target: Target) -> str:
        return ""           # VirtualService `mirror` with `mirrorPercentage`: every Istio has it

    @staticmethod
    def _ensure(kube: Kube, ns: str, plural: str, name: str, spec: dict, field: str) -> None:
        """Create the object with `spec`, or set just `field` of an existing one."""
        current = kube.istio(ns, plural, name)
        if current is None:
            kind = "VirtualService" if plural == VS else "DestinationRule"
            kube.create_istio(ns, plural, {"apiVersion": "networking.istio.io/v1beta1", "kind": kind,
                                           "metadata": {"name": name, "namespace": ns}, "spec": spec})
        elif current["spec"].get(field) != spec[field]:
            kube.merge_istio(ns, plural, name, {"spec": {field: spec[field]}})

    def _subsets(self, kube: Kube, app: AppSpec, release: Release, versions: list[str]) -> None:
        subsets = [{"name": v, "labels": {"version": v}} for v in versions]
        self._ensure(kube, release.namespace, DR, app.service, {"host": app.service, "subsets": subsets},
                     "subsets")

    def _http(self, kube: Kube, app: AppSpec, release: Release, http: list[dict]) -> None:
        self._ensure(kube, release.namespace, VS, app.service, {"hosts": [app.service], "http": http}, "http")

    def prepare(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._subsets(kube, app, release, [stable_label(release), release.to_version])
        if kube.istio(release.namespace, VS, app.service) is None:
            self._http(kube, app, release, [{"route": [_dest(app.service, stable_label(release), 100)]}])

    def route(self, kube: Kube, app: AppSpec, release: Release, stage: Stage) -> None:
        host, old, new = app.service, stable_label(release), release.to_version
        http = []
        if (match := match_of(release)) is not None:
            http.append({"name": "graybot-ab", "match": [match_block(match)], "route": [_dest(host, new)]})
        cookie = f"graybot-{app.name}" if release.command.sticky else None
        if cookie:       # returning visitors go back to the version they were given
            http.append({"name": "graybot-sticky-new", "match": [cookie_block(cookie, new)], "route": [_dest(host, new)]})
            http.append({"name": "graybot-sticky-old", "match": [cookie_block(cookie, old)], "route": [_dest(host, old)]})
        weights = {"name": "graybot-weights",
                   "route": [_dest(host, old, 100 - stage.weight, cookie), _dest(host, new, stage.weight, cookie)]}
        if stage.mirror:        # a shadow: every answer from the old version, copies to the new one
            weights.update(route=[_dest(host, old, 100)], mirror={"host": host, "subset": new},
                           mirrorPercentage={"value": float(stage.mirror)})
        http.append(weights)
        self._http(kube, app, release, http)

    def promote(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._http(kube, app, release, [{"route": [_dest(app.service, release.to_version, 100)]}])

    def retire(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._subsets(kube, app, release, [release.to_version])

    def revert(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._http(kube, app, release, [{"route": [_dest(app.service, stable_label(release), 100)]}])

    def tidy(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._subsets(kube, app, release, [stable_label(release)])
