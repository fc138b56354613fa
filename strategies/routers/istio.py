"""Istio: DestinationRule subsets by `version` label and VirtualService route weights (and an
A/B match route first), as custom objects through the official client."""
from __future__ import annotations

from bot.kube import Kube
from bot.model import Release, Stage
from bot.plans import PlanError, Target, version_label
from bot.settings import AppSpec

from . import match_of
from .service import stable_label

VS, DR = Kube.ISTIO_PLURALS


def _dest(host: str, subset: str, weight: int | None = None) -> dict:
    d = {"destination": {"host": host, "subset": subset}}
    if weight is not None:
        d["weight"] = weight
    return d


def match_block(match: dict) -> dict:
    if match["kind"] == "header":
        return {"headers": {match["name"].lower(): {"exact": match["value"]}}}
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
        app = target.app
        return {"stable_version_label": label,
                "had_vs": kube.istio(app.namespace, VS, app.service) is not None,
                "had_dr": kube.istio(app.namespace, DR, app.service) is not None}

    def _subsets(self, kube: Kube, app: AppSpec, release: Release, versions: list[str]) -> None:
        subsets = [{"name": v, "labels": {"version": v}} for v in versions]
        ns = release.namespace
        current = kube.istio(ns, DR, app.service)
        if current is None:
            kube.create_istio(ns, DR, {"apiVersion": "networking.istio.io/v1beta1",
                                       "kind": "DestinationRule",
                                       "metadata": {"name": app.service, "namespace": ns},
                                       "spec": {"host": app.service, "subsets": subsets}})
        elif current["spec"].get("subsets") != subsets:
            kube.merge_istio(ns, DR, app.service, {"spec": {"subsets": subsets}})

    def _http(self, kube: Kube, app: AppSpec, release: Release, http: list[dict]) -> None:
        ns = release.namespace
        current = kube.istio(ns, VS, app.service)
        if current is None:
            kube.create_istio(ns, VS, {"apiVersion": "networking.istio.io/v1beta1",
                                       "kind": "VirtualService",
                                       "metadata": {"name": app.service, "namespace": ns},
                                       "spec": {"hosts": [app.service], "http": http}})
        elif current["spec"].get("http") != http:
            kube.merge_istio(ns, VS, app.service, {"spec": {"http": http}})

    def prepare(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._subsets(kube, app, release, [stable_label(release), release.to_version])
        if kube.istio(release.namespace, VS, app.service) is None:
            self._http(kube, app, release, [{"route": [_dest(app.service, stable_label(release), 100)]}])

    def route(self, kube: Kube, app: AppSpec, release: Release, stage: Stage) -> None:
        host, old, new = app.service, stable_label(release), release.to_version
        http = []
        if (match := match_of(release)) is not None:
            http.append({"name": "graybot-ab", "match": [match_block(match)], "route": [_dest(host, new)]})
        http.append({"name": "graybot-weights",
                     "route": [_dest(host, old, 100 - stage.weight), _dest(host, new, stage.weight)]})
        self._http(kube, app, release, http)

    def promote(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._http(kube, app, release, [{"route": [_dest(app.service, release.to_version, 100)]}])

    def retire(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._subsets(kube, app, release, [release.to_version])

    def revert(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._http(kube, app, release, [{"route": [_dest(app.service, stable_label(release), 100)]}])

    def tidy(self, kube: Kube, app: AppSpec, release: Release) -> None:
        self._subsets(kube, app, release, [stable_label(release)])
