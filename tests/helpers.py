"""Shared builders for behaviour tests: a seeded sandbox, the engine over real Redis and HTTP."""
from __future__ import annotations

from dataclasses import dataclass

from kubernetes import client

import strategies
from bot.engine import Engine
from bot.grammar import parse
from bot.kube import Kube
from bot.settings import Registry, parse_registry
from bot.store import Store
from sandbox.seed import apps_yaml, seed_demo

NS = "default"


@dataclass
class World:
    engine: Engine
    store: Store
    kube: Kube
    registry: Registry
    apps: client.AppsV1Api
    core: client.CoreV1Api

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


def build_world(sandbox, kube_api, redis_client, tmp_path, apps_doc: dict | None = None) -> World:
    seed_demo(sandbox.store, tmp_path)
    registry = parse_registry(apps_doc or apps_yaml())
    store = Store(redis_client)
    kube = Kube(kube_api, backoff=0.05)
    engine = Engine(store, kube, registry, strategies.build(registry))
    return World(engine, store, kube, registry, client.AppsV1Api(kube_api), client.CoreV1Api(kube_api))
