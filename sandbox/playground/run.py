"""Starts everything for `graybot playground`: the sandbox cluster (demo apps, traffic,
Prometheus API), a Redis, the fake Slack Web API, graybot itself in HTTP mode (or Socket Mode
with `--socket`: then the fake Slack also plays Slack's WebSocket side), and the console."""
from __future__ import annotations

import faulthandler
import logging
import secrets
import socket

import yaml

from ..cluster import Sandbox
from ..pods import Timing
from ..seed import apps_yaml, seed_demo
from ..slack import FakeSlack
from .console import USERS, Console, serve_console
from .redis_local import LocalRedis, scratch_dir

log = logging.getLogger("graybot.playground")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def playground_apps(bake: str) -> dict:
    doc = apps_yaml(metrics=True, bake=bake)
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
        self.sandbox = Sandbox(port=_free_port(), timing=timing, traffic_rps=20).start()
        kubeconfig = self.sandbox.write_kubeconfig(work / "kubeconfig")
        seed_demo(self.sandbox.store, work)
        config = work / "apps.yaml"
        config.write_text(yaml.safe_dump(playground_apps("1s" if self.fast else "5s"), sort_keys=False))
        self.slack = FakeSlack(socket_mode=self.socket_mode).start()
        secret = secrets.token_hex(16)
        settings = Settings(slack_bot_token="xoxb-playground", slack_signing_secret=secret,
                            slack_api_url=self.slack.url, redis_url=self.redis.url, config_path=str(config),
                            kubeconfig=str(kubeconfig), prometheus_url=self.sandbox.url,
                            leader_ttl=5, slack_app_token="xapp-1-playground" if self.socket_mode else "")
        self.bot = build(settings, message_retry=0.5, driver_period=0.5).start()
        self.bot_http = self.bot.http_server("127.0.0.1", _free_port())
        self.bot_http.serve_in_thread()
        if self.socket_mode:
            self.socket_handler = self.bot.connect_socket(settings.slack_app_token)
        self.console = serve_console(Console(self.sandbox, self.slack, self.bot_http.url, secret),
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
            f"  sandbox cluster       {self.sandbox.url}   KUBECONFIG={self.work / 'kubeconfig'}",
            f"  fake Slack Web API    {self.slack.url}",
            f"  Prometheus API        {self.sandbox.url}/api/v1/query",
            f"  Redis                 {self.redis.url} ({self.redis.kind})",
            f"  apps.yaml             {self.work / 'apps.yaml'}",
            "Try: /release canary user-v2 10%   (as alice; eve is not an approver of user)",
            "Ctrl-C stops everything."])

    def stop(self) -> None:
        self.console.shutdown()
        if self.socket_handler is not None:
            self.socket_handler.close()
        self.bot_http.shutdown()
        self.bot.stop()
        self.slack.stop()
        self.sandbox.stop()
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
