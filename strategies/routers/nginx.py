"""ingress-nginx: a canary Ingress `INGRESS-canary` (same host/paths, `canary: "true"`) in front
of the new version's own Service; weight, header or cookie annotations per stage."""
from __future__ import annotations

import copy

from bot.adapters.kube import Kube
from bot.domain.model import Release, Stage
from bot.domain.plans import PlanError, Target
from bot.domain.apps import AppSpec

from . import match_of
from ..selectors import ensure_version_service, pinned_origin, point_service, stable_label, version_selector

PREFIX = "nginx.ingress.kubernetes.io/"
CANARY_KEYS = ("canary-weight", "canary-by-header", "canary-by-header-value", "canary-by-header-pattern",
               "canary-by-cookie")


def canary_name(app: AppSpec) -> str:
    return f"{app.ingress}-canary"


class NginxRouter:
    name = "nginx"
    exact_weights = True

    def mirror_problem(self, kube: Kube, target: Target) -> str:
        return (f"the {self.name} router cannot copy requests to a shadow; --mirror needs --router gateway "
                "or istio")

    def origin(self, kube: Kube, target: Target) -> dict:
        app, origin = target.app, pinned_origin(kube, target, self.name)
        if kube.ingress(app.namespace, app.ingress) is None:
            raise PlanError(f"Ingress {app.ingress} not found in {app.namespace} (apps.yaml `ingress:`)")
        return origin

    def _canary_ingress(self, app: AppSpec, release: Release, main: dict) -> dict:
        spec = copy.deepcopy(main["spec"])
        spec.pop("tls", None)     # certificates stay on the main Ingress
        for rule in spec.get("rules") or []:
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = path.get("backend", {}).get("service") or {}
                if backend.get("name") == app.service:
                    backend["name"] = release.new_name
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": canary_name(app), "namespace": release.namespace,
                             "annotations": {PREFIX + "canary": "true", PREFIX + "canary-weight": "0",
                                             "graybot.io/release": release.id}},
                "spec": spec}

    def prepare(self, kube: Kube, app: AppSpec, release: Release) -> None:
        ns = release.namespace
        point_service(kube, ns, app.service, version_selector(app, stable_label(release)))
        ensure_version_service(kube, app, release)
        if kube.ingress(ns, canary_name(app)) is None:
            main = kube.ingress(ns, app.ingress)
            kube.create_ingress(ns, self._canary_ingress(app, release, main))

    def route(self, kube: Kube, app: AppSpec, release: Release, stage: Stage) -> None:
        wanted = {PREFIX + "canary-weight": str(stage.weight)}
        match = match_of(release)
        if match and match["kind"] == "header":
            wanted[PREFIX + "canary-by-header"] = match["name"]
            kind = "canary-by-header-pattern" if match.get("regex") else "canary-by-header-value"
            wanted[PREFIX + kind] = match["value"]
        elif match:
            wanted[PREFIX + "canary-by-cookie"] = match["name"]
        ingress = kube.ingress(release.namespace, canary_name(app))
        current = (ingress or {}).get("metadata", {}).get("annotations") or {}
        patch = {PREFIX + k: None for k in CANARY_KEYS if PREFIX + k in current and PREFIX + k not in wanted}
        patch.update({k: v for k, v in wanted.items() if current.get(k) != v})
        if patch:
            kube.patch_ingress(release.namespace, canary_name(app), {"metadata": {"annotations": patch}})

    def promote(self, kube: Kube, app: AppSpec, release: Release) -> None:
        point_service(kube, release.namespace, app.service, version_selector(app, release.to_version))
        kube.delete_ingress(release.namespace, canary_name(app))

    def retire(self, kube: Kube, app: AppSpec, release: Release) -> None:
        kube.delete_service(release.namespace, release.new_name)

    def revert(self, kube: Kube, app: AppSpec, release: Release) -> None:
        kube.delete_ingress(release.namespace, canary_name(app))   # traffic back first
        point_service(kube, release.namespace, app.service,
                      version_selector(app, stable_label(release)))

    def tidy(self, kube: Kube, app: AppSpec, release: Release) -> None:
        kube.delete_service(release.namespace, release.new_name)
        original = release.origin.get("service_selector")
        if original:
            point_service(kube, release.namespace, app.service, original)
