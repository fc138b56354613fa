"""Blue/green: the new (green) Deployment at full size, then the Service selector switch;
blue stays until the last stage retires it, so rollback is an instant switch back."""
from __future__ import annotations

from bot.language.grammar import StartCommand
from bot.workloads import Workload
from bot.domain.model import Release, Stage
from bot.domain.apps import AppSpec

from .base import Plan, PlanError, Progress, Target, restore_stable, version_label
from .selectors import point_service, version_selector

GREEN = 0          # the first stage: green up, traffic still on blue


class BlueGreen:
    name = "bluegreen"

    def __init__(self, apps: dict[str, AppSpec]):
        self.apps = apps

    def plan(self, workload: Workload, target: Target, cmd: StartCommand) -> Plan:
        if version_label(target.stable) is None:
            raise PlanError(f"{target.stable_name}'s pods carry no `version` label, so the Service "
                            "cannot tell blue from green; add one to its template first")
        svc = workload.kube.service(target.app.namespace, target.app.service)
        if svc is None:
            raise PlanError(f"Service {target.app.service} not found in {target.app.namespace}")
        n, old, new = target.replicas, target.from_version, target.to_version
        stages = (Stage("green ready", 0, n, n, f"{n} {new} pods ready; traffic stays on {old}"),
                  Stage("switch", 100, n, n, f"Service {target.app.service} -> {new}; "
                        f"{old} kept for an instant switch back"),
                  Stage("retire blue", 100, n, 0, f"{target.stable_name} deleted"))
        return Plan(stages, target.new_name, {"service_selector": svc["spec"].get("selector") or {}})

    def _point(self, workload: Workload, release: Release, version: str) -> None:
        app = self.apps[release.app].at(release.cluster)
        point_service(workload.kube, release.namespace, app.service, version_selector(app, version))

    def converge(self, workload: Workload, release: Release) -> Progress:
        app, ns = self.apps[release.app].at(release.cluster), release.namespace
        self._point(workload, release, release.from_version if release.stage == GREEN else release.to_version)
        green = workload.get(ns, release.new_name)
        if green is None:
            stable = workload.get(ns, release.stable_name)
            green = workload.create(ns, workload.new_version(stable, app, release.to_version,
                                                              release.image, release.replicas))
        if not workload.settled(green, release.replicas):
            return Progress(False, workload.progress(green, release.replicas), workload.deadline_failure(green))
        where = "green" if release.stage == GREEN else "switched"
        return Progress(True, f"{release.new_name} ready ({where})")

    def finalize(self, workload: Workload, release: Release) -> None:
        self._point(workload, release, release.to_version)
        workload.delete(release.namespace, release.stable_name)

    def rollback(self, workload: Workload, release: Release) -> Progress:
        """Switch back while blue is still there (at full size and ready), then drop green."""
        if (waiting := restore_stable(workload, release)) is not None:
            return waiting
        if release.origin.get("service_selector"):
            point_service(workload.kube, release.namespace, self.apps[release.app].at(release.cluster).service,
                          release.origin["service_selector"])
        workload.delete(release.namespace, release.new_name)
        return Progress(True, f"Service back on {release.from_version}; {release.new_name} deleted")

    def pause(self, workload: Workload, release: Release) -> None:
        """Nothing moves by itself between stages."""

    def resume(self, workload: Workload, release: Release) -> None:
        """Nothing was changed on pause."""
