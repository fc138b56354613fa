"""Service selectors (shared by routers and blue/green): pin the stable Service to a version, and
the new version's own Service `APP-VERSION`."""
from __future__ import annotations

import copy

from bot.adapters.kube import Kube
from bot.domain.model import Release
from bot.domain.apps import AppSpec
from bot.domain.plans import PlanError, Target, version_label


def point_service(kube: Kube, ns: str, name: str, selector: dict[str, str]) -> None:
    svc = kube.service(ns, name)
    if svc is not None and svc["spec"].get("selector") != selector:
        kube.set_service_selector(ns, name, selector)


def version_selector(app: AppSpec, version: str) -> dict[str, str]:
    return dict(app.labels, version=version)


def ensure_version_service(kube: Kube, app: AppSpec, release: Release) -> None:
    """`APP-VERSION`, selecting only the new version's pods, with the stable Service's ports."""
    stable = kube.service(release.namespace, app.service)
    ports = [{k: v for k, v in p.items() if k != "nodePort"}
             for p in copy.deepcopy((stable or {}).get("spec", {}).get("ports") or [{"port": 80}])]
    kube.create_service(release.namespace, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": release.new_name, "namespace": release.namespace,
                     "labels": version_selector(app, release.to_version),
                     "annotations": {"graybot.io/release": release.id}},
        "spec": {"selector": version_selector(app, release.to_version), "ports": ports}})


def stable_label(release: Release) -> str:
    return release.origin.get("stable_version_label") or release.from_version


def pinned_origin(kube: Kube, target: Target, router: str) -> dict:
    """What a router that pins the stable Service by version needs to undo its changes: the
    Service's selector and the stable pods' `version` label (PlanError when either is missing)."""
    app = target.app
    label = version_label(target.stable)
    if label is None:
        raise PlanError(f"{target.stable_name}'s pods carry no `version` label; the {router} router "
                        "pins Services by version")
    svc = kube.service(app.namespace, app.service)
    if svc is None:
        raise PlanError(f"Service {app.service} not found in {app.namespace}")
    return {"service_selector": svc["spec"].get("selector") or {}, "stable_version_label": label}
