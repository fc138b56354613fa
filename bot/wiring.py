"""Builds the engine from Settings: Redis store, Kubernetes adapter, registry, strategies.
Shared by the CLI, the Slack app (bot/app.py) and the playground; Slack itself is wired in app.py."""
from __future__ import annotations

from dataclasses import dataclass

import strategies

from .engine import Engine
from .gates import HealthWatcher, MetricGate
from .kube import Kube
from .settings import Registry, Settings, load_registry
from .store import Store


@dataclass
class Core:
    settings: Settings
    registry: Registry
    store: Store
    kube: Kube
    engine: Engine


def build_core(settings: Settings) -> Core:
    registry = load_registry(settings.config_path)
    store = Store.from_url(settings.redis_url)
    kube = Kube.from_config(settings.kubeconfig or None)
    engine = Engine(store, kube, registry, strategies.build(registry), MetricGate(settings.prometheus_url),
                    default_tz=settings.timezone)
    return Core(settings, registry, store, kube, engine)


def health_watcher(core: Core, wake) -> HealthWatcher:
    """The shared pod watch: fails gates through the engine, wakes the driver on changes."""
    return HealthWatcher(core.kube, core.registry, core.store.active, core.engine.fail_gate, wake)
