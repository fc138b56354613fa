"""The replicas router: no traffic router; the Service selects the app label so both
versions serve, and the share follows the pod ratio."""
from __future__ import annotations

from bot.kube import Kube
from bot.model import Release


class ReplicasRouter:
    name = "replicas"
    exact_weights = False       # the share is the pod ratio, so stages use Argo's split

    def origin(self, kube: Kube, ns: str, service: str) -> dict:
        """What undo needs to put back."""
        svc = kube.service(ns, service)
        return {"service_selector": (svc or {}).get("spec", {}).get("selector")}

    def prepare(self, kube: Kube, release: Release, app_labels: dict[str, str], service: str) -> None:
        """Both versions behind the Service: select by the app's labels only."""
        svc = kube.service(release.namespace, service)
        if svc is not None and svc["spec"].get("selector") != app_labels:
            kube.set_service_selector(release.namespace, service, app_labels)

    def route(self, kube: Kube, release: Release, weight: int) -> None:
        """Nothing to do: the replica counts are the weights."""

    def complete(self, kube: Kube, release: Release, app_labels: dict[str, str], service: str) -> None:
        original = release.origin.get("service_selector") or {}
        if "version" in original:   # it was pinned to a version: pin it to the new one
            kube.set_service_selector(release.namespace, service,
                                      dict(app_labels, version=release.to_version))

    def undo(self, kube: Kube, release: Release, service: str) -> None:
        original = release.origin.get("service_selector")
        svc = kube.service(release.namespace, service)
        if original and svc is not None and svc["spec"].get("selector") != original:
            kube.set_service_selector(release.namespace, service, original)
