"""The sandbox cluster: object store + API server + controllers, started and stopped as one."""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import yaml

from .api import KubeApi
from . import datadog, gitops
from .argo_rollouts import RolloutController
from .flagger import FlaggerController
from .kruise_rollouts import KruiseRolloutController
from .controller import DeploymentController
from .gateway import GatewayController
from .objstore import ObjectStore
from .pods import PodSimulator, Timing
from .server import SandboxHTTPServer, Stall
from .loadgen import TrafficGenerator
from .traffic import Traffic
from .traffic_http import register_prometheus_routes, register_traffic_routes, register_webhook_routes

log = logging.getLogger("graybot.sandbox")
TOKEN = "graybot-sandbox-token"


class Sandbox:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, timing: Timing | None = None,
                 traffic_rps: float = 0.0):
        self.timing = timing or Timing()
        self.store = ObjectStore()
        self.api = KubeApi(self.store)
        self.server = SandboxHTTPServer((host, port), self.api)
        self.deployments = DeploymentController(self.store)
        self.rollouts = RolloutController(self.store)
        self.kruise = KruiseRolloutController(self.store)
        self.flagger = FlaggerController(self.store)
        self.pods = PodSimulator(self.store, self.timing)
        self.gateways = GatewayController(self.store)
        self.gitops = gitops.GitOpsController(self.store)
        self.traffic = Traffic(self.store, self.pods)
        register_traffic_routes(self.server, self.traffic)
        register_prometheus_routes(self.server, self.traffic)
        register_webhook_routes(self.server, self.traffic)
        datadog.register(self.server, self.traffic.series)
        gitops.register(self.server, self.gitops)
        self.generator = TrafficGenerator(self.traffic, traffic_rps)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.store.create(("", "namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "default"},
                                                "spec": {"finalizers": ["kubernetes"]},
                                                "status": {"phase": "Active"}})

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def step(self) -> None:
        """One pass of every controller, under the store lock (a consistent snapshot)."""
        with self.store.lock:
            self.pods.sync_pods()
            self.pods.sync_replicasets()
            self.kruise.sync_all()          # first: it pauses a Deployment before it rolls (its webhook)
            self.deployments.sync_all()
            self.rollouts.sync_all()
            self.pods.collect_garbage()
            self.gateways.sync()
            self.gitops.sync()

    def _loop(self) -> None:
        while not self._stop.wait(self.timing.tick):
            try:
                self.step()
            except Exception:  # keep the cluster alive; a bug shows in the log
                log.exception("controller pass failed")

    def start(self) -> "Sandbox":
        self._threads = [self.server.serve_in_thread(),
                         threading.Thread(target=self._loop, name="sandbox-controllers", daemon=True),
                         threading.Thread(target=self.flagger.run, args=(self._stop,), name="sandbox-flagger",
                                          daemon=True)]
        self._threads[1].start()
        self._threads[2].start()
        self.generator.start()
        return self

    def hang(self, fragment: str, seconds: float = 120.0, methods: tuple[str, ...] = ()) -> Stall:
        """From now on, requests whose path contains `fragment` hang (until `.release()`)."""
        stall = Stall(fragment, seconds, methods)
        self.server.stalls.append(stall)
        return stall

    def stop(self) -> None:
        for stall in self.server.stalls:
            stall.release()
        self._stop.set()
        self.generator.stop()
        self.api.stopping.set()
        with self.store.lock:
            self.store.changed.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def write_kubeconfig(self, path: str | os.PathLike) -> Path:
        return write_kubeconfig(path, {"sandbox": self})


def write_kubeconfig(path: str | os.PathLike, clusters: dict[str, "Sandbox"], current: str = "") -> Path:
    """One kubeconfig with a context per sandbox cluster (named as given), the way a platform
    team's kubeconfig holds staging and prod; `current-context` is the first unless named."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(clusters)
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": current or names[0],
        "clusters": [{"name": n, "cluster": {"server": c.url}} for n, c in clusters.items()],
        "users": [{"name": "graybot", "user": {"token": TOKEN}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "graybot", "namespace": "default"}}
                     for n in names],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
