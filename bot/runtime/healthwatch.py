"""The health gate, watched: one pod watch per (cluster, namespace) of the registry, shared by all
releases, turns a crash-looping or over-restarting new pod into a failed gate at once (Flagger instead
checks once per interval and needs `threshold` failures), and wakes the driver on changes."""
from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Callable

from bot.adapters.clusters import Clusters
from bot.domain.apps import Registry
from bot.domain.health import drift, foreign_write, pod_failure, pod_of_release
from bot.domain.model import Phase, Release
from bot.domain.names import CONTROLLER_STRATEGY
from bot import workloads
from bot.workloads import WorkloadOf

from .relay import Relay
from .running import Running

log = logging.getLogger("graybot.healthwatch")


ROUTED_BY = {"gateway": "httproutes", "nginx": "ingresses", "istio": "virtualservices"}
KIND_OF = {"services": "Service", "httproutes": "HTTPRoute", "grpcroutes": "GRPCRoute", "ingresses": "Ingress",
           "virtualservices": "VirtualService"}       # list items need not carry their kind


def routed_name(app, release: Release, kind: str) -> str | None:
    """The name of the object of `kind` the release routes through (None: it has none)."""
    if kind == "Service":
        return app.service
    if kind in ("HTTPRoute", "GRPCRoute"):
        return (release.origin.get("httproute") or {}).get("name")
    if kind == "Ingress":
        return f"{app.ingress}-canary"            # the nginx router's canary Ingress
    if kind == "VirtualService":
        return app.service                        # the istio router's, named after the Service
    return None


class HealthWatcher:
    def __init__(self, clusters: Clusters, registry: Registry, active: Callable[[], list[Release]],
                 fail: Callable[[str, str], object], wake: Callable[[], None],
                 hold: Callable[[str, str], object] = lambda _id, _why: None,
                 get: Callable[[str], Release | None] = lambda _id: None,
                 workload_of: WorkloadOf | None = None, observed: Callable[[str], object] = lambda _id: None,
                 outside: Callable[[str], object] = lambda _id: None, listeners: list | None = None):
        """`listeners`: the engine's; while watching, every release this process saves is heard
        there, so the watches match against its newest state without reading it (running.py)."""
        self.clusters, self.registry = clusters, registry
        self.active, self.fail, self.wake, self.hold, self.get = active, fail, wake, hold, get
        self.observed, self.outside = observed, outside
        self.workload_of = workload_of or (lambda cluster, kind="deployment": workloads.build(kind, clusters[cluster]))

        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._relays: list[Relay] = []
        self._streams: set = set()            # the open watches, so stop() can close them at once
        self._failed: set[tuple[str, object]] = set()
        self.running = Running(active, registry)
        self._listeners = listeners if listeners is not None else []

    def places(self) -> list[tuple[str, str]]:
        """(cluster, namespace) of every app in every cluster it runs in: one watch each."""
        return sorted({(cluster, app.at(cluster).namespace) for app in self.registry.values()
                       for cluster in app.clusters if cluster in self.clusters})

    def controlled_places(self) -> list[tuple[str, str, str]]:
        """(cluster, namespace, kind) where a controller runs an app's steps: its objects are watched."""
        return sorted({(cluster, app.at(cluster).namespace, app.workload) for app in self.registry.values()
                       if app.controlled for cluster in app.clusters if cluster in self.clusters})

    def routing_places(self) -> list[tuple[str, str, str]]:
        """(cluster, namespace, plural) of the objects that route an app's traffic: its Service,
        and its router's HTTPRoute, GRPCRoute, canary Ingress or VirtualService; watched, so a
        change someone else makes mid-release is seen."""
        found = set()
        for app in self.registry.values():
            for cluster in (c for c in app.clusters if c in self.clusters):
                placed = app.at(cluster)
                if not app.controlled:
                    found.add((cluster, placed.namespace, "services"))
                plural = ROUTED_BY.get(placed.router)
                if placed.router == "gateway" and placed.grpcroute:
                    plural = "grpcroutes"
                if plural and not app.controlled:
                    found.add((cluster, placed.namespace, plural))
        return sorted(found)

    def start(self) -> "HealthWatcher":
        self._listeners.append(self._heard)
        watches = [(cluster, ns, plural, handler) for cluster, ns in self.places()
                   for plural, handler in (("pods", self.on_pod),
                                           (self.workload_of(cluster).resource, self.on_workload))]
        watches += [(cluster, ns, self.workload_of(cluster, kind).resource, self.on_controlled)
                    for cluster, ns, kind in self.controlled_places()]
        watches += [(cluster, ns, plural, functools.partial(self.on_routing, KIND_OF[plural]))
                    for cluster, ns, plural in self.routing_places()]
        for cluster, ns, plural, handler in watches:
            relay = Relay(functools.partial(handler, cluster), self._stop, f"health-{plural}-{cluster}-{ns}-handler")
            thread = threading.Thread(target=self.clusters[cluster].watch, daemon=True,
                                      name=f"health-{plural}-{cluster}-{ns}",
                                      args=(plural, ns, relay, self._stop, self._streams))
            thread.start()
            self._threads.append(thread)
            self._relays.append(relay)
        return self

    def on_controlled(self, cluster: str, kind: str, obj: dict) -> None:
        """A controller moved its object (a step, a pause, an abort): its release is looked at now,
        from this watch, not from a poll."""
        name, ns = obj["metadata"].get("name"), obj["metadata"].get("namespace")

        found = [r for r in self.running.named(name) if self._in(r, cluster) and r.namespace == ns and r.new_name == name]
        for release in found:
            if release.phase == Phase.WAITING:
                self.outside(release.id)      # promoted or aborted by someone else: followed, said
            self.observed(release.id)         # the live message shows the controller's new step
        if any(r.phase == Phase.PROGRESSING for r in found):
            self.wake()

    def _in(self, release: Release, cluster: str) -> bool:
        return self.clusters.name_of(release.cluster) == cluster

    def on_workload(self, cluster: str, kind: str, deploy: dict) -> None:
        """A waiting release's own workload objects changed by hand: hold the release, say what."""
        name, ns = deploy["metadata"].get("name"), deploy["metadata"].get("namespace")
        owners = self._owners(cluster, ns, name, self.running.named(name))
        for cached in owners:
            release = self.get(cached.id)       # the cache may predate the stage turning healthy
            if release is not None and release.phase == Phase.PROGRESSING and kind != "DELETED" \
                    and (who := foreign_write(deploy, release.updated_at)):
                self._hold(release.id, f"{name} was changed by {who} outside graybot while stage "
                                       f"{release.current.name} was being applied")
                continue
            if release is None or release.phase != Phase.WAITING or not drift(release, kind, deploy):
                continue
            fresh = self.workload_of(cluster).get(ns, name)     # a watch may lag graybot's own last scale
            if why := drift(release, "DELETED" if fresh is None else "MODIFIED", fresh or deploy):
                self._hold(release.id, why)

    def on_routing(self, what: str, cluster: str, event: str, obj: dict) -> None:
        """An object of kind `what` a running release routes through, changed by someone else
        since the release's last step: hold the release, naming who (managedFields)."""
        name, ns = obj["metadata"].get("name"), obj["metadata"].get("namespace")
        for cached in self.running.all():
            app = self.registry.get(cached.app)
            if app is None or not self._in(cached, cluster) or cached.namespace != ns:
                continue
            if name != routed_name(app.at(cached.cluster), cached, what):
                continue
            release = self.get(cached.id)
            if release is None or release.phase not in (Phase.PROGRESSING, Phase.WAITING):
                continue
            # a canary Ingress's weights are annotations: its metadata is what graybot writes there
            who = foreign_write(obj, release.updated_at, "f:metadata" if what == "Ingress" else "f:spec")
            if who:
                self._hold(release.id, f"{what} {name} was changed by {who} outside graybot while stage "
                                       f"{release.current.name} was {self._doing(release)}")

    @staticmethod
    def _doing(release: Release) -> str:
        return "being applied" if release.phase == Phase.PROGRESSING else "waiting"

    def _hold(self, release_id: str, why: str) -> None:
        try:
            self.hold(release_id, why)
        except Exception:
            log.exception("holding %s", release_id)

    def _owners(self, cluster: str, ns: str, name: str, releases: list[Release]) -> list[Release]:
        """The releases whose Deployments these are; not a controller's (a Kruise Rollout or Flagger
        Canary scales the Deployment it drives itself: its sizes are not graybot's stages)."""
        return [r for r in releases if self._in(r, cluster) and r.namespace == ns and name in (r.new_name, r.stable_name)
                and r.strategy != CONTROLLER_STRATEGY]

    def _heard(self, release: Release, what: str, _detail: str) -> None:
        """This process saved a release (or announced one): match against its newest state."""
        self.running.saved(release)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every watch (closing its connection, so none waits out its read) and join them."""
        self._stop.set()
        if self._heard in self._listeners:
            self._listeners.remove(self._heard)
        for stream in list(self._streams):
            stream.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for relay in self._relays:
            relay.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]

    def on_pod(self, cluster: str, kind: str, pod: dict) -> None:
        """A new version's pod changed: its release is ticked now (a pod gone, or an old one's
        change, shows in its Deployment's status: on_workload wakes for that). One crash-looping or
        restarting too often fails the stage's gate."""
        if kind == "DELETED":
            return
        touched = False
        for release in self.running.labelled(pod["metadata"].get("labels") or {}):
            app = self.registry.get(release.app)
            if app is None or not self._in(release, cluster) or pod["metadata"].get("namespace") != release.namespace \
                    or not pod_of_release(release, app, pod):
                continue
            touched = True
            if release.runtime.overridden_stage == release.stage:
                continue
            why = pod_failure(pod, app.gates.max_restarts)
            if why and (release.id, release.stage_key) not in self._failed:
                self._failed.add((release.id, release.stage_key))
                try:
                    self.fail(release.id, why)
                except Exception:
                    log.exception("failing the gate of %s", release.id)
        if touched:
            self.wake()
