"""A start command -> the Release it would start, nothing written: which clusters (one, or waves),
and in each the target, the strategy's stages and what undoing will need. Every wave is planned
up front, so `plan` shows each wave's pod and weight math and a wave that could not start is
refused before the first one changes anything."""
from __future__ import annotations

import dataclasses
import time

from bot.adapters.clusters import Clusters
from bot.adapters.kube import KubeError
from bot.adapters.store import Store
from bot.domain.apps import AppSpec, Registry
from bot.domain.model import Release, Wave, WaveState
from bot.domain.plans import PlanError
from bot.workloads import WorkloadOf
from bot.domain.names import CONTROLLER_STRATEGY
from bot.language.grammar import DEFAULT_STEPS, StartCommand

from .gitops import GitOpsGuard
from .refusals import Refused
from .targets import find_target


class Unreachable(Refused):
    """A wave cannot be planned because its cluster does not answer (an outage, not a refusal)."""

    def __init__(self, cluster: str, message: str):
        super().__init__(message)
        self.cluster = cluster


def wave_clusters(app: AppSpec, cmd: StartCommand, known: Clusters) -> tuple[str, ...]:
    """--cluster NAME, else --waves a,b, else the app's `waves:`, else its one cluster."""
    asked = (cmd.cluster,) if cmd.cluster else tuple(cmd.waves) or app.placement.waves
    for name in asked:
        if name not in known:
            raise Refused(f"unknown cluster {name!r}; clusters: {', '.join(known)}")
        if name not in app.clusters:
            raise Refused(f"{app.name} does not run in {name}; it runs in {', '.join(app.clusters)}")
    if asked:
        return asked
    if len(app.clusters) > 1:
        raise Refused(f"{app.name} runs in {', '.join(app.clusters)}: say which with --cluster NAME, or "
                      f"--waves {','.join(app.clusters)} for one cluster after another")
    return app.clusters


class Planner:
    def __init__(self, store: Store, clusters: Clusters, registry: Registry, strategies: dict,
                 gitops: GitOpsGuard, workload_of: WorkloadOf, default_tz: str):
        self.store, self.clusters, self.registry = store, clusters, registry
        self.strategies, self.gitops, self.default_tz = strategies, gitops, default_tz
        self.workload_of = workload_of

    def wave(self, cmd: StartCommand, cluster: str) -> Wave:
        app = self.registry[cmd.app].at(cluster)
        workload = self.workload_of(cluster, app.workload)
        try:
            target = find_target(workload, self.store, app, cmd.version)
            plan = self.strategies[cmd.strategy].plan(workload, target, cmd)
            gitops = self.gitops.origin(app, target.stable, cluster, retires_stable=plan.new_name != target.stable_name)
        except (PlanError, Refused) as err:
            raise Refused(self._where(cluster, str(err))) from None
        except KubeError as err:
            raise Unreachable(cluster, f"cannot plan the {cluster} wave: cluster {cluster} did not answer ({err}); "
                          "nothing was changed") from None
        return Wave(cluster=cluster, namespace=app.namespace, from_version=target.from_version,
                    stable_name=target.stable_name, new_name=plan.new_name, replicas=target.replicas,
                    stages=plan.stages, origin=dict(plan.origin, **gitops), state=WaveState.PENDING)

    def replan_next_wave(self, release: Release) -> Release:
        """Just before the next wave starts (maybe days after the release did): plan it again
        from its cluster as it is now, so its pod math uses today's size; refused (nothing
        changes) when it can no longer start there."""
        index, cmd = release.wave + 1, command_of(release)
        fresh = self.wave(cmd, release.waves[index].cluster)
        waves = list(release.waves)
        waves[index] = fresh
        return release.replace(waves=tuple(waves))

    def _where(self, cluster: str, why: str) -> str:
        return why if len(self.clusters.kubes) == 1 else f"{cluster}: {why}"

    def plan(self, cmd: StartCommand, actor: str) -> Release:
        if cmd.strategy not in self.strategies:
            raise Refused(f"the {cmd.strategy} strategy is not available yet")
        app = self.registry[cmd.app]
        if app.controlled:
            cmd = controller_command(app, cmd)
        waves = [self.wave(cmd, cluster) for cluster in wave_clusters(app, cmd, self.clusters)]
        now = time.time()
        saved = cmd.saved(tz=cmd.tz or self.default_tz, approvals_needed=app.rules.approvals)
        return Release(id=Release.new_id(cmd.app), app=cmd.app, strategy=cmd.strategy,
                       to_version=cmd.version, image=app.image_for(cmd.version),
                       requested_by=actor, command=saved, created_at=now, updated_at=now,
                       last_actor=actor, last_action="create",
                       waves=tuple(dataclasses.replace(w, state=WaveState.RUNNING) if i == 0 else w
                                   for i, w in enumerate(waves)))


def controller_command(app: AppSpec, cmd: StartCommand) -> StartCommand:
    """The start command of an app whose controller runs the steps: only a canary, and none of
    the options that the controller's own spec decides (steps, router, stickiness, matches)."""
    kind = app.workload
    if cmd.strategy not in ("canary", CONTROLLER_STRATEGY):
        raise Refused(f"{app.name} is released by its {kind} ({app.object}): use /release canary "
                      f"{app.name}-VERSION; the {kind}'s own strategy decides the rest")
    given = [flag for flag, on in (("a first weight or --steps", cmd.steps != DEFAULT_STEPS),
                                   ("--router", bool(cmd.router)), ("--sticky", cmd.sticky),
                                   ("a header or cookie match", cmd.match is not None)) if on]
    if given:
        raise Refused(f"{app.name}'s steps are its {kind}'s own ({app.object}): drop {', '.join(given)}")
    return dataclasses.replace(cmd, strategy=CONTROLLER_STRATEGY)


def command_of(release: Release) -> StartCommand:
    """The start command a release was planned from (its saved options)."""
    given = dataclasses.asdict(release.command) | {"match": release.command.match}
    return StartCommand(strategy=release.strategy, app=release.app, version=release.to_version, **given)
