"""Canary: a second Deployment for the new version, grown stage by stage behind a router; at
100% the stable Deployment is retired.

Without a traffic router (replicas) the share is the pod ratio (Argo's split) and the stable
shrinks as the canary grows. With nginx or Istio the weight is exact: the canary gets
ceil(W*N/100) pods and the stable keeps N, so moving traffic back on abort needs no scale-up.
"""
from __future__ import annotations

import math

from bot.workloads import Workload
from bot.domain.apps import AppSpec
from bot.domain.model import Release, Stage
from bot.domain.names import STICKY_ROUTERS
from bot.language.grammar import StartCommand

from .base import Plan, PlanError, Progress, Target, restore_stable
from .replica_math import canary_split
from .routers import Router, build_router


def match_text(match: dict | None) -> str:
    if not match:
        return ""
    if match["kind"] == "header":
        return f"header {match['name']}{'~' if match.get('regex') else '='}{match['value']}"
    return f"cookie {match['name']}=always"


class Canary:
    name = "canary"

    def __init__(self, apps: dict[str, AppSpec]):
        self.apps = apps

    def router(self, release: Release) -> Router:
        return build_router(release.origin.get("router") or self.apps[release.app].at(release.cluster).router)

    def _router_name(self, target: Target, cmd: StartCommand) -> str:
        return cmd.router or target.app.router

    def _stage(self, router: Router, n: int, weight: int, target: Target) -> Stage:
        if weight >= 100:
            return Stage("100%", 100, n, 0 if not router.exact_weights else n,
                         f"{n} new pods take all traffic; {target.stable_name} is retired")
        if router.exact_weights:
            new = max(1, math.ceil(weight * n / 100))
            return Stage(f"{weight}%", weight, new, n, f"{router.name} sends {weight}% to {new} new pods; "
                                                       f"{n} old pods stay")
        new, old = canary_split(n, weight)
        share = round(100 * new / (new + old))
        return Stage(f"{weight}%", weight, new, old, f"{new} new / {old} old pods (~{share}% by pod ratio)")

    @staticmethod
    def _shadow(router: Router, n: int, share: int) -> Stage:
        """The new version gets copies of `share`% of requests (its answers dropped) and pods for
        them; every user is still served by the old version."""
        new = max(1, math.ceil(share * n / 100))
        return Stage(f"shadow {share}%", 0, new, n, f"{router.name} copies {share}% of requests to {new} new pods; "
                                                    "their answers are dropped, users see only the old version",
                     mirror=share)

    def plan(self, workload: Workload, target: Target, cmd: StartCommand) -> Plan:
        router = build_router(self._router_name(target, cmd))
        if cmd.sticky and router.name not in STICKY_ROUTERS:
            raise PlanError(f"--sticky needs a router that can set a cookie ({', '.join(STICKY_ROUTERS)}); "
                            f"{target.app.name} uses {router.name}: add --router gateway")
        stages = tuple(self._stage(router, target.replicas, w, target) for w in cmd.steps)
        if cmd.mirror:
            if problem := router.mirror_problem(workload.kube, target):
                raise PlanError(problem)
            stages = (self._shadow(router, target.replicas, cmd.mirror),) + stages
        origin = dict(router.origin(workload.kube, target), router=router.name)
        return Plan(stages, target.new_name, origin)

    def converge(self, workload: Workload, release: Release) -> Progress:
        app, stage, ns, router = self.apps[release.app].at(release.cluster), release.current, release.namespace, self.router(release)
        router.prepare(workload.kube, app, release)
        new = workload.get(ns, release.new_name)
        if new is None:
            stable = workload.get(ns, release.stable_name)
            new = workload.create(ns, workload.new_version(stable, app, release.to_version,
                                                            release.image, stage.new_replicas))
        if new["spec"].get("replicas") != stage.new_replicas:
            workload.scale(ns, release.new_name, stage.new_replicas)
            new = workload.get(ns, release.new_name)
        if not workload.settled(new, stage.new_replicas):
            return Progress(False, workload.progress(new, stage.new_replicas), workload.deadline_failure(new))
        stable = workload.get(ns, release.stable_name)
        if stable is not None and stable["spec"].get("replicas") != stage.old_replicas:
            workload.scale(ns, release.stable_name, stage.old_replicas)
            stable = workload.get(ns, release.stable_name)
        if stable is not None and not workload.settled(stable, stage.old_replicas):
            return Progress(False, workload.progress(stable, stage.old_replicas))
        if (waiting := router.route(workload.kube, app, release, stage)) is not None:   # only now: traffic
            return waiting                                                    # never meets unready pods
        return Progress(True, f"{stage.new_replicas} new / {stage.old_replicas} old pods ready, "
                              f"traffic {stage.weight}%")

    def finalize(self, workload: Workload, release: Release) -> None:
        app, router = self.apps[release.app].at(release.cluster), self.router(release)
        router.promote(workload.kube, app, release)
        workload.delete(release.namespace, release.stable_name)
        router.retire(workload.kube, app, release)

    def rollback(self, workload: Workload, release: Release) -> Progress:
        """Stable back to N first (capacity never dips), traffic back, then the new version goes."""
        app, router = self.apps[release.app].at(release.cluster), self.router(release)
        if (waiting := restore_stable(workload, release)) is not None:
            return waiting
        router.revert(workload.kube, app, release)
        if (gone := self._drain(workload, release)) is not None:
            return gone
        workload.delete(release.namespace, release.new_name)
        router.tidy(workload.kube, app, release)
        return Progress(True, f"{release.stable_name} serves all {release.replicas} pods")

    @staticmethod
    def _drain(workload: Workload, release: Release) -> Progress | None:
        """Scale the new version to 0 and wait until none of its pods is left before deleting it:
        "rolled back" must mean no request can reach it (a deleted Deployment's pods go later)."""
        new = workload.get(release.namespace, release.new_name)
        if new is None:
            return None
        if new["spec"].get("replicas"):
            workload.scale(release.namespace, release.new_name, 0)
            return Progress(False, f"{release.new_name}: scaling to 0")
        left = (new.get("status") or {}).get("replicas", 0)
        return Progress(False, f"{release.new_name}: {left} pods left") if left else None

    def pause(self, workload: Workload, release: Release) -> None:
        """Holding a stage needs no cluster change: nothing advances while paused."""

    def resume(self, workload: Workload, release: Release) -> None:
        """Nothing was changed on pause."""
