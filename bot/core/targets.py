"""What a start command targets: the one workload serving the app now (never a guess when
two serve), the version it runs, and the image of the version asked for."""
from __future__ import annotations

from typing import cast

from bot.adapters.store import Store
from bot.domain.apps import AppSpec
from bot.domain.plans import Target
from bot.workloads import Workload
from bot.workloads.base import Controller

from . import refusals
from .refusals import Refused


def find_target(workload: Workload, store: Store, app: AppSpec, version: str) -> Target:
    serving = workload.serving(app)
    if not serving and workload.controller_owns_steps:
        raise Refused(cast(Controller, workload).missing(app))
    if not serving:
        raise Refused(f"no running {workload.api_kind} of {app.name} matches {app.labels} in namespace {app.namespace}")
    if len(serving) > 1:
        last = next(iter(store.history(app.name, 1)), None)
        raise Refused(refusals.ambiguous(app.name, serving, last, workload.api_kind))
    stable = serving[0]
    current = app.version_of(workload.serving_image(stable, app.name)) or workload.version_label(stable) or "unknown"
    if current == version:
        raise Refused(f"{app.name} already runs {version} ({stable['metadata']['name']})")
    return Target(app, stable, current, version, app.image_for(version), workload.size(stable))
