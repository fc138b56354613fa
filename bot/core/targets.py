"""What a start command targets: the one Deployment serving the app now (never a guess when
two serve), the version it runs, and the image of the version asked for."""
from __future__ import annotations

from bot.adapters.kube import Kube
from bot.adapters.store import Store
from bot.domain.apps import AppSpec
from bot.domain.plans import Target, main_container, version_label

from . import refusals
from .refusals import Refused


def find_target(kube: Kube, store: Store, app: AppSpec, version: str) -> Target:
    serving = sorted((d for d in kube.deployments(app.namespace, app.labels) if d["spec"].get("replicas", 0) > 0),
                     key=lambda d: -d["spec"]["replicas"])
    if not serving:
        raise Refused(f"no running Deployment of {app.name} matches {app.labels} in namespace {app.namespace}")
    if len(serving) > 1:
        last = next(iter(store.history(app.name, 1)), None)
        raise Refused(refusals.ambiguous(app.name, serving, last))
    stable = serving[0]
    current = app.version_of(main_container(stable, app.name)["image"]) or version_label(stable) or "unknown"
    if current == version:
        raise Refused(f"{app.name} already runs {version} ({stable['metadata']['name']})")
    return Target(app, stable, current, version, app.image_for(version))
