"""Settings -> Core: the one place that names concrete strategies, routers and metric providers
(through their package factories), the Redis store, the Kubernetes adapter and the registry.
Shared by the CLI, the Slack composition (bot/app.py) and the playground."""
from __future__ import annotations

from dataclasses import dataclass

import strategies
from bot import gates

from .adapters.edgestate import EdgeState
from .adapters.clusters import Clusters
from .adapters.kube import Kube, KubeError
from .adapters.store import Store
from .config import ConfigError, Settings, load_registry
from .core.engine import Engine
from .domain.apps import Registry
from .runtime.runner import Runner


@dataclass
class Core:
    settings: Settings
    registry: Registry
    store: Store
    clusters: Clusters
    engine: Engine

    @property
    def kube(self) -> Kube:
        """The default (first) cluster's client."""
        return self.clusters[self.clusters.default]

    @property
    def edge_state(self) -> EdgeState:
        return EdgeState(self.store.r)


def build_core(settings: Settings) -> Core:
    registry = load_registry(settings.config_path)
    store = Store.from_url(settings.redis_url)
    try:
        clusters = Clusters.connect(registry.clusters, settings.kubeconfig, backoff=settings.kube_retry_backoff,
                                    timeout=(settings.kube_connect_timeout, settings.kube_read_timeout),
                                    pool=max(32, 2 * settings.driver_workers))
    except KubeError as err:
        raise ConfigError(err.message, err.message.split("; ")) from None
    metric_gate = gates.build({"prometheus": {"url": settings.prometheus_url},
                               "datadog": {"url": settings.datadog_url, "api_key": settings.datadog_api_key,
                                           "app_key": settings.datadog_app_key}},
                               per_cluster={name: {"prometheus": {"url": spec.prometheus}}
                                            for name, spec in registry.clusters.items() if spec.prometheus})
    engine = Engine(store, clusters, registry, strategies.build(registry), metric_gate,
                    default_tz=settings.timezone)
    return Core(settings, registry, store, clusters, engine)


def build_runner(core: Core, driver_period: float = 1.0) -> Runner:
    """The leader's background duties (driver, health watch, timers), elected through Redis."""
    return Runner(core.engine, core.store.r, leader_ttl=core.settings.leader_ttl,
                  misfire_grace=core.settings.misfire_grace, driver_period=driver_period,
                  driver_workers=core.settings.driver_workers)
