"""Settings -> Core: the one place that names concrete strategies, routers and metric providers
(through their package factories), the Redis store, the Kubernetes adapter and the registry.
Shared by the CLI, the Slack composition (bot/app.py) and the playground."""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Callable

import strategies
from bot import gates, workloads
from bot.gates import MetricGate
from bot.gates.webhooks import WebhookGate

from .adapters.flaggergates import FlaggerGates
from .adapters.edgestate import EdgeState, ack_client
from .adapters.clusters import Clusters
from .adapters.kube import Kube, KubeError
from .adapters.store import Store
from .config import ConfigError, Settings, flagger_tokens, load_registry
from .core.engine import Engine, Parts
from .core.flagger_webhooks import FlaggerWebhooks
from .core.freezes import FreezeDesk
from .core.handback import HandBack
from .core.gitops import GitOpsGuard
from .core.planner import Planner
from .core.reconcile import Reconciler
from .domain.apps import Registry
from .domain.names import OBSERVED
from .runtime.auditsink import AuditSink
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

    def close(self) -> None:
        """Stop the lock keeper (the store's one thread)."""
        self.store.locks.stop()

    @functools.cached_property
    def edge_state(self) -> EdgeState:
        return EdgeState(self.store.r, ack=ack_client(self.store.r))


def build_core(settings: Settings) -> Core:
    registry = load_registry(settings.config_path)
    store = Store.from_url(settings.redis_url)
    store.trail.outbox = bool(registry.audit.webhook)        # entries wait there for the webhook
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
    engine = Engine(engine_parts(registry, store, clusters, metric_gate, settings.timezone))
    return Core(settings, registry, store, clusters, engine)


def engine_parts(registry: Registry, store: Store, clusters: Clusters, metric_gate: MetricGate,
                 default_tz: str) -> Parts:
    """Every collaborator of the engine, each built once, here."""
    flagger_gates = FlaggerGates(store.r, store.replicas)
    workload_of = lambda cluster, kind="deployment": workloads.build(kind, clusters[cluster], flagger_gates)  # noqa: E731
    made = strategies.build(registry)
    gitops = GitOpsGuard(workload_of)
    return Parts(store=store, clusters=clusters, registry=registry, strategies=made, workload_of=workload_of,
                 metrics=metric_gate, webhooks=WebhookGate(), freezes=FreezeDesk(store, registry, default_tz, time.time),
                 gitops=gitops, planner=Planner(store, clusters, registry, made, gitops, workload_of, default_tz),
                 reconciler=Reconciler(), default_tz=default_tz,
                 thread_link=functools.partial(slack_thread_link, EdgeState(store.r)))


def slack_thread_link(edge: EdgeState, release) -> str:
    """The release's thread in Slack (its live message), for the commit graybot writes to Git;
    slack.com/archives links open in the reader's own workspace."""
    where = edge.message(release.id)
    return f"https://slack.com/archives/{where[0]}/p{where[1].replace('.', '')}" if where else ""


def flagger_webhooks(registry: Registry, store: Store, default_tz: str) -> FlaggerWebhooks:
    """The answerer of Flagger Canaries' gates (served on the HTTP port by whichever process has it)."""
    return FlaggerWebhooks(registry, store, FlaggerGates(store.r, store.replicas), flagger_tokens(registry),
                           FreezeDesk(store, registry, default_tz, time.time).held)


def build_runner(core: Core, driver_period: float = 1.0) -> Runner:
    """The leader's background duties (driver, health watch, timers), elected through Redis."""
    runner = Runner(core.engine, core.store.r, leader_ttl=core.settings.leader_ttl,
                    misfire_grace=core.settings.misfire_grace, driver_period=driver_period,
                    driver_workers=core.settings.driver_workers)
    runner.leader_loops.append(audit_sinks(core))
    runner.duties.append(HandBack(core.engine).round)     # reconciliation back once Git holds a release
    return runner


def audit_sinks(core: Core) -> Callable[[], AuditSink]:
    """A maker of the loop that delivers the trail to audit.webhook and applies audit.retention
    (one per term as leader); every saved change wakes the current one."""
    current: list[AuditSink] = []
    core.engine.listeners.append(lambda _r, what, _d: current[-1].wake() if current and what != OBSERVED else None)

    def make() -> AuditSink:
        current[:] = [AuditSink(core.store.trail, core.registry.audit, core.settings.audit_secret)]
        return current[0]
    return make
