"""The health gate, watched: one pod watch per namespace of the registry, shared by all releases,
turns a crash-looping or over-restarting new pod into a failed gate at once (Flagger instead
checks once per interval and needs `threshold` failures), and wakes the driver on changes."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from bot.adapters.kube import Kube
from bot.domain.apps import Registry
from bot.domain.health import drift, pod_failure, pod_of_release
from bot.domain.model import Phase, Release

log = logging.getLogger("graybot.healthwatch")


class HealthWatcher:
    def __init__(self, kube: Kube, registry: Registry, active: Callable[[], list[Release]],
                 fail: Callable[[str, str], object], wake: Callable[[], None],
                 hold: Callable[[str, str], object] = lambda _id, _why: None,
                 get: Callable[[str], Release | None] = lambda _id: None):
        self.kube, self.registry = kube, registry
        self.active, self.fail, self.wake, self.hold, self.get = active, fail, wake, hold, get

        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failed: set[tuple[str, int]] = set()
        self._cache: tuple[float, list[Release]] = (0.0, [])

    def start(self) -> "HealthWatcher":
        for ns in sorted({app.namespace for app in self.registry.values()}):
            for plural, handler in (("pods", self.on_pod), ("deployments", self.on_deployment)):
                thread = threading.Thread(target=self.kube.watch, name=f"health-{plural}-{ns}", daemon=True,
                                          args=(plural, ns, handler, self._stop))
                thread.start()
                self._threads.append(thread)
        return self

    def on_deployment(self, kind: str, deploy: dict) -> None:
        """A waiting release's own Deployments changed by hand: hold the release, say what."""
        name, ns = deploy["metadata"].get("name"), deploy["metadata"].get("namespace")
        for cached in self._releases():
            if cached.namespace != ns or name not in (cached.new_name, cached.stable_name):
                continue
            release = self.get(cached.id)       # the cache may predate the stage turning healthy
            if release is None or release.phase != Phase.WAITING or not drift(release, kind, deploy):
                continue
            fresh = self.kube.deployment(ns, name)     # a watch may lag graybot's own last scale
            why = drift(release, "DELETED" if fresh is None else "MODIFIED", fresh or deploy)
            if why:
                try:
                    self.hold(release.id, why)
                except Exception:
                    log.exception("holding %s", release.id)

    def stop(self) -> None:
        self._stop.set()

    def _releases(self) -> list[Release]:
        at, cached = self._cache
        if time.monotonic() - at > 0.25:      # many pod events arrive in bursts
            cached = [r for r in self.active() if r.phase in (Phase.PROGRESSING, Phase.WAITING)]
            self._cache = (time.monotonic(), cached)
        return cached

    def on_pod(self, kind: str, pod: dict) -> None:
        if kind == "DELETED":
            return
        touched = False
        for release in self._releases():
            app = self.registry.get(release.app)
            if app is None or pod["metadata"].get("namespace") != release.namespace \
                    or not pod_of_release(release, app, pod):
                continue
            touched = True
            if release.options.get("overridden_stage") == release.stage:
                continue
            why = pod_failure(pod, app.gates.max_restarts)
            if why and (release.id, release.stage) not in self._failed:
                self._failed.add((release.id, release.stage))
                self._cache = (0.0, [])
                try:
                    self.fail(release.id, why)
                except Exception:
                    log.exception("failing the gate of %s", release.id)
        if touched:
            self.wake()
