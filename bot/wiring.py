"""Settings -> Core: the one place that names concrete strategies, routers and metric providers
(through their package factories), the Redis store, the Kubernetes adapter and the registry.
Shared by the CLI, the Slack composition (bot/app.py) and the playground."""
from __future__ import annotations

from dataclasses import dataclass

import strategies
from bot import gates

from .adapters.edgestate import EdgeState
from .adapters.kube import Kube
from .adapters.store import Store
from .config import Settings, load_registry
from .core.engine import Engine
from .domain.apps import Registry
from .runtime.runner import Runner


@dataclass
class Core:
    settings: Settings
    registry: Registry
    store: Store
    kube: Kube
    engine: Engine

    @property
    def edge_state(self) -> EdgeState:
        return EdgeState(self.store.r)


def build_core(settings: Settings) -> Core:
    registry = load_registry(settings.config_path)
    store = Store.from_url(settings.redis_url)
    kube = Kube.from_config(settings.kubeconfig or None, backoff=settings.kube_retry_backoff,
                            timeout=(settings.kube_connect_timeout, settings.kube_read_timeout),
                            pool=max(32, 2 * settings.driver_workers))
    metric_gate = gates.build({"prometheus": {"url": settings.prometheus_url},
                               "datadog": {"url": settings.datadog_url, "api_key": settings.datadog_api_key,
                                           "app_key": settings.datadog_app_key}})
    engine = Engine(store, kube, registry, strategies.build(registry), metric_gate,
                    default_tz=settings.timezone)
    return Core(settings, registry, store, kube, engine)


def build_runner(core: Core, driver_period: float = 1.0) -> Runner:
    """The leader's background duties (driver, health watch, timers), elected through Redis."""
    return Runner(core.engine, core.store.r, leader_ttl=core.settings.leader_ttl,
                  misfire_grace=core.settings.misfire_grace, driver_period=driver_period,
                  driver_workers=core.settings.driver_workers)
