"""Starts everything for `graybot playground`: two sandbox clusters, staging and prod (demo apps,
traffic, Prometheus API; one kubeconfig with a context each; the apps are released in waves),
a Redis, the fake Slack Web API, graybot itself in HTTP mode (or Socket Mode with `--socket`:
then the fake Slack also plays Slack's WebSocket side), and the console."""
from __future__ import annotations

import faulthandler
import os
import logging
import secrets
import socket

import yaml

from ..cluster import Sandbox, write_kubeconfig
from ..pods import Timing
from ..seed import apps_yaml, flagger_entry, rollout_entry, seed_demo, seed_flagger, seed_kruise, seed_rollout
from ..slack import FakeSlack
from .console import USERS, Console, serve_console
from .redis_local import LocalRedis, scratch_dir

log = logging.getLogger("graybot.playground")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLUSTERS = ("staging", "prod")
FLAGGER_TOKEN = "FLAGGER_GATE_TOKEN"


def playground_apps(bake: str, kubeconfig: str) -> dict:
    """The demo apps in two clusters, released in waves: staging first, then prod."""
    doc = apps_yaml(metrics=True, bake=bake)
    doc["apps"]["shop"] = rollout_entry("shop")         # an Argo Rollout: graybot approves its pauses
    doc["apps"]["cart"] = dict(rollout_entry("cart"), workload="kruise-rollout")   # a Kruise Rollout
    doc["apps"]["wallet"] = flagger_entry("wallet")    # a Flagger Canary: graybot is its gates
    doc["clusters"] = {name: {"kubeconfig": kubeconfig, "context": name} for name in CLUSTERS}
    for app in doc["apps"].values():
        app.update(clusters=list(CLUSTERS), waves=list(CLUSTERS))
    doc["apps"]["user"]["approvers"] = [u["id"] for u in USERS if u["role"] == "approver"]
    return doc


class Playground:
    def __init__(self, port: int = 8080, fast: bool = False, host: str = "127.0.0.1", socket_mode: bool = False):
        self.port, self.fast, self.host, self.socket_mode = port, fast, host, socket_mode
        self.socket_handler = None
        self.parts: list = []

    def start(self) -> "Playground":
        from bot.app import build
        from bot.config import Settings

        work = scratch_dir()
        timing = Timing(ready_delay=0.3 if self.fast else 1.0, restart_every=1.0 if self.fast else 5.0)
        self.redis = LocalRedis(work).start()
        self.clusters = {name: Sandbox(port=_free_port(), timing=timing, traffic_rps=20).start() for name in CLUSTERS}
        kubeconfig = write_kubeconfig(work / "kubeconfig", self.clusters)
        for sandbox in self.clusters.values():
            seed_demo(sandbox.store)
            seed_rollout(sandbox.store, "shop")
            seed_kruise(sandbox.store, "cart")
        config = work / "apps.yaml"
        config.write_text(yaml.safe_dump(playground_apps("1s" if self.fast else "5s", str(kubeconfig)),
                                         sort_keys=False))
        os.environ.setdefault(FLAGGER_TOKEN, secrets.token_hex(16))     # what the Canaries' webhooks carry
        self.slack = FakeSlack(socket_mode=self.socket_mode).start()
        secret = secrets.token_hex(16)
        settings = Settings(slack_bot_token="xoxb-playground", slack_signing_secret=secret,
                            slack_api_url=self.slack.url, redis_url=self.redis.url, config_path=str(config),
                            kubeconfig=str(kubeconfig), prometheus_url=self.clusters["staging"].url,
                            leader_ttl=5, slack_app_token="xapp-1-playground" if self.socket_mode else "")
        self.bot = build(settings, message_retry=0.5, driver_period=0.5).start()
        self.bot_http = self.bot.http_server("127.0.0.1", _free_port())
        self.bot_http.serve_in_thread()
        for name, sandbox in self.clusters.items():     # Flagger calls graybot's gates, so they come after
            seed_flagger(sandbox.store, self.bot_http.url, os.environ[FLAGGER_TOKEN], "wallet", cluster=name)
        if self.socket_mode:
            self.socket_handler = self.bot.connect_socket(settings.slack_app_token)
        self.console = serve_console(Console(self.clusters, self.slack, self.bot_http.url, secret),
                                     self.host, self.port)
        self.work = work
        return self

    def banner(self) -> str:
        return "\n".join([
            "graybot playground is running:",
            f"  console (open this)   http://{self.host}:{self.console.server_address[1]}",
            (f"  graybot (Socket Mode) ws://127.0.0.1:{self.slack.socket.port}   health {self.bot_http.url}/healthz"
             if self.socket_mode else
             f"  graybot (HTTP mode)   {self.bot_http.url}/slack/events   /healthz   /metrics"),
            *(f"  sandbox cluster {name:<7}{sandbox.url}   (context {name})" for name, sandbox in self.clusters.items()),
            f"  KUBECONFIG            {self.work / 'kubeconfig'}   (kubectl --context prod get deploy)",
            f"  fake Slack Web API    {self.slack.url}",
            f"  Prometheus API        {self.clusters['staging'].url}/api/v1/query",
            f"  Redis                 {self.redis.url} ({self.redis.kind})",
            f"  apps.yaml             {self.work / 'apps.yaml'}",
            "Try: /release canary user-v2 10%   (staging, then prod once you approve the wave;",
            "     as alice: eve is not an approver of user)",
            "     /release canary shop-v2       (an Argo Rollout: its own steps, its pauses approved here)",
            "     /release canary cart-v2       (a Kruise Rollout: each step approved here)",
            "     /release canary wallet-v2     (a Flagger Canary: graybot is its gates)",
            "Ctrl-C stops everything."])

    def stop(self) -> None:
        self.console.shutdown()
        if self.socket_handler is not None:
            self.socket_handler.close()
        self.bot_http.shutdown()
        self.bot.stop()
        self.slack.stop()
        for sandbox in self.clusters.values():
            sandbox.stop()
        self.redis.stop()


def run(port: int, fast: bool, host: str = "127.0.0.1", socket_mode: bool = False) -> int:
    from bot.runtime.lifecycle import catch_interrupts, wait_for_interrupt

    catch_interrupts()
    playground = Playground(port, fast, host, socket_mode).start()
    print(playground.banner(), flush=True)
    wait_for_interrupt()
    print("stopping ...", flush=True)
    # A part that does not stop within 15 s is a bug: say where it hangs, then leave anyway.
    faulthandler.dump_traceback_later(15, exit=True)
    playground.stop()
    faulthandler.cancel_dump_traceback_later()
    return 0
