"""The one world builder: the demo seed on the sandbox, an apps.yaml, and the core exactly as
bot/wiring.py builds it for the bot (real Redis, the sandbox over HTTP through the official
client). Tests reach the cluster through the same adapter, plus typed clients for watches."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from kubernetes import client

from bot.adapters.kube import Kube
from bot.adapters.store import Store
from bot.config import Settings
from bot.core.engine import Engine
from bot.domain.apps import Registry
from bot.domain.model import Phase
from bot.language.grammar import parse
from bot.runtime.driver import Driver
from bot.runtime.runner import health_watcher
from bot.wiring import Core, build_core
from sandbox.seed import apps_yaml, seed_demo

from .wait import wait_until

NS = "default"


def redis_url_of(conn) -> str:
    kw = conn.connection_pool.connection_kwargs
    return f"redis://{kw.get('host', '127.0.0.1')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


@dataclass
class World:
    core: Core
    apps: client.AppsV1Api
    core_api: client.CoreV1Api
    config_path: Path
    parts: list = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        return self.core.engine

    @property
    def store(self) -> Store:
        return self.core.store

    @property
    def kube(self) -> Kube:
        return self.core.kube

    @property
    def registry(self) -> Registry:
        return self.core.registry

    def cmd(self, text: str):
        return parse(text, self.registry)

    def start(self, text: str, actor: str = "U_ALICE"):
        return self.engine.start(self.cmd(text), actor)

    def act(self, text: str, actor: str = "U_ALICE", expected_version=None):
        return self.engine.act(self.cmd(text), actor, expected_version)

    def replicas(self, name: str) -> int | None:
        d = self.kube.deployment(NS, name)
        return None if d is None else d["spec"]["replicas"]

    def ready(self, name: str) -> int:
        d = self.kube.deployment(NS, name)
        return 0 if d is None else (d.get("status") or {}).get("readyReplicas", 0)

    def pods_by_image(self, app: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for pod in self.kube.pods(NS, {"app": app}):
            image = pod["spec"]["containers"][0]["image"]
            counts[image] = counts.get(image, 0) + 1
        return counts

    def selector(self, service: str) -> dict:
        return self.kube.service(NS, service)["spec"]["selector"]

    def run_driver(self) -> "World":
        """The driver and the shared health watch, as the leading bot process runs them."""
        self.driver = Driver(self.engine, period=0.2).start()
        self.watcher = health_watcher(self.engine, self.driver.wake).start()
        self.parts += [self.watcher, self.driver]
        return self

    def stop(self) -> None:
        for part in self.parts:
            part.stop()
        self.parts.clear()


def build_world(sandbox, kube_api, redis_client, tmp_path, apps_doc: dict | None = None,
                prometheus: str = "", **settings) -> World:
    """`settings`: overrides of bot.config.Settings (e.g. leader_ttl)."""
    config_path = seed_demo(sandbox.store, tmp_path)
    if apps_doc is not None:
        config_path.write_text(yaml.safe_dump(apps_doc, sort_keys=False))
    values = dict(redis_url=redis_url_of(redis_client), config_path=str(config_path),
                  kubeconfig=str(sandbox.kubeconfig), prometheus_url=prometheus, kube_retry_backoff=0.05)
    values.update(settings)
    core = build_core(Settings(**values))
    return World(core, client.AppsV1Api(kube_api), client.CoreV1Api(kube_api), config_path)


def demo_world(sandbox, kube_api, redis_client, tmp_path, apps_doc=None, **kw) -> World:
    """build_world, then wait until the demo seed's pods are all ready."""
    w = build_world(sandbox, kube_api, redis_client, tmp_path, apps_doc, **kw)
    wait_until(lambda: w.ready("user-v1") == 10 and w.ready("pay-v1") == 3, message="demo seed ready")
    return w


class Worlds:
    """Worlds whose gates read the sandbox's metrics under generated traffic, each with the
    driver and health watch running; `stop()` stops them all (for a fixture's teardown)."""

    def __init__(self, sandbox, kube_api, redis_client, tmp_path):
        self.sandbox, self.kube_api, self.redis_client, self.tmp_path = sandbox, kube_api, redis_client, tmp_path
        self.made: list[World] = []

    def under_traffic(self, apps_doc: dict, rps: float = 400, **settings) -> World:
        self.sandbox.generator.rps = rps
        self.sandbox.generator.start()
        w = demo_world(self.sandbox, self.kube_api, self.redis_client, self.tmp_path, apps_doc, **settings).run_driver()
        self.made.append(w)
        return w

    def stop(self) -> None:
        for w in self.made:
            w.stop()


RESTING = (Phase.WAITING, Phase.PAUSED, Phase.ROLLED_BACK, Phase.SUCCEEDED)


def rested(w: World, release_id: str, timeout: float = 60):
    """The release once it rests: its stage's gates decided, or it finished."""
    return wait_until(lambda: (x := w.store.get(release_id)).phase in RESTING and x, timeout=timeout,
                      message="the stage's gates decided")


def decide(w: World, text: str):
    """Start a release and return it once its first stage's gates decided."""
    return rested(w, w.start(text).id)


__all__ = ["NS", "RESTING", "decide", "World", "Worlds", "build_world", "demo_world", "apps_yaml", "rested"]


def another_process(w: World, kube: Kube | None = None) -> Core:
    """A second core from the same settings, as a restarted or second bot process builds it;
    `kube` swaps in another adapter (for example one that dies mid-step)."""
    core = build_core(w.core.settings)
    if kube is not None:
        core.clusters.kubes[core.clusters.default] = kube      # the engine reads clients from here
    return core
