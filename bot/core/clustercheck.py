"""`check-config` for apps.yaml's `clusters:`: is every cluster configured right and answering,
and does every app have a serving workload in each cluster it runs in? Every problem at once."""
from __future__ import annotations

from typing import Callable, cast

from bot.adapters.clusters import Clusters
from bot import workloads
from bot.adapters.kube import KubeError
from bot.domain.apps import Registry
from bot.workloads import Workload
from bot.workloads.base import Controller


def cluster_problems(registry: Registry, kubeconfig: str = "", timeout: tuple[float, float] = (3.0, 5.0)) -> list[str]:
    problems: list[str] = []
    for name, spec in registry.clusters.items():
        try:
            kube = Clusters.connect({name: spec}, kubeconfig, timeout=timeout, backoff=0.05)[name]
        except KubeError as err:
            problems.append(err.message)
            continue
        try:
            kube.ping()
        except KubeError as err:
            problems.append(f"clusters.{name} ({spec.describe()}): does not answer: {err.message}")
            kube.close()
            continue
        problems += _app_problems(registry, name, lambda kind: workloads.build(kind, kube))
        kube.close()
    return problems


def _app_problems(registry: Registry, cluster: str, workload_of: Callable[[str], Workload]) -> list[str]:
    problems = []
    for app in registry.values():
        if cluster not in app.clusters:
            continue
        here, workload = app.at(cluster), workload_of(app.workload)
        try:
            found = workload.serving(here)
        except KubeError as err:
            problems.append(f"apps.{app.name} in {cluster}: cannot list {workload.api_kind}s: {err.message}")
            continue
        if not found and workload.controller_owns_steps:
            problems.append(f"apps.{app.name} in {cluster}: {cast(Controller, workload).missing(here)}")
        elif not found:
            problems.append(f"apps.{app.name} in {cluster}: no running {workload.api_kind} matches {here.labels} "
                            f"in namespace {here.namespace}")
    return problems
