"""The replicas router: no traffic router; the Service selects the app label so both
versions serve, and the share follows the pod ratio."""
from __future__ import annotations

from bot.adapters.kube import Kube
from bot.domain.model import Release, Stage
from bot.domain.plans import Target
from bot.domain.apps import AppSpec

from ..selectors import point_service, version_selector


class ReplicasRouter:
    name = "replicas"
    exact_weights = False

    def mirror_problem(self, kube: Kube, target: Target) -> str:
        return (f"the {self.name} router cannot copy requests to a shadow; --mirror needs --router gateway "
                "or istio")

    def origin(self, kube: Kube, target: Target) -> dict:
        svc = kube.service(target.app.namespace, target.app.service)
        return {"service_selector": (svc or {}).get("spec", {}).get("selector")}

    def prepare(self, kube: Kube, app: AppSpec, release: Release) -> None:
        """Both versions behind the Service: select by the app's labels only."""
        point_service(kube, release.namespace, app.service, app.labels)

    def route(self, kube: Kube, app: AppSpec, release: Release, stage: Stage) -> None:
        """Nothing to do: the replica counts are the weights."""

    def promote(self, kube: Kube, app: AppSpec, release: Release) -> None:
        if "version" in (release.origin.get("service_selector") or {}):   # was pinned: pin to new
            point_service(kube, release.namespace, app.service, version_selector(app, release.to_version))

    def retire(self, kube: Kube, app: AppSpec, release: Release) -> None:
        """Nothing was created for this router."""

    def revert(self, kube: Kube, app: AppSpec, release: Release) -> None:
        original = release.origin.get("service_selector")
        if original:
            point_service(kube, release.namespace, app.service, original)

    def tidy(self, kube: Kube, app: AppSpec, release: Release) -> None:
        """Nothing was created for this router."""
