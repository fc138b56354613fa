"""Wires graybot: the core (engine, store, cluster), the Slack edge (Bolt app, listeners,
live messages, access), the release driver, and HTTP or Socket Mode."""
from __future__ import annotations

import functools
import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (ConnectionErrorRetryHandler, RateLimitErrorRetryHandler,
                                                   ServerErrorRetryHandler)

from handlers import home, listeners, paging
from handlers.access import slack_policy
from handlers.edge import Edge, SlackReplier
from handlers.http import SlackHTTPServer
from handlers.messages import MessageSync

from ..adapters import telemetry
from ..config import Settings
from ..core import readiness
from ..core.desk import Desk
from ..runtime.driver import join_pool
from ..runtime.handoff import HandedOff
from ..runtime.inbox import Inbox
from ..runtime.runner import Runner
from ..wiring import Core, build_core, build_runner, flagger_webhooks

log = logging.getLogger("graybot.app")


SLACK_TIMEOUT = 5        # seconds for one Web API call (slack_sdk's default is 30)


def slack_client(settings: Settings) -> WebClient:
    """slack_sdk retries only connection errors by default: add 429 (Retry-After) and 5xx. Each
    call has SLACK_TIMEOUT: a hung Slack holds a message worker seconds, not minutes."""
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT,
                     retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=3),
                                     RateLimitErrorRetryHandler(max_retry_count=5),
                                     ServerErrorRetryHandler(max_retry_count=3)])


def button_key(settings: Settings) -> bytes:
    """The key that signs button values: derived from a secret the bot already holds."""
    secret = settings.slack_signing_secret or settings.slack_bot_token or settings.slack_app_token
    return hashlib.sha256(b"graybot-buttons\0" + secret.encode()).digest()


@dataclass
class Graybot:
    core: Core
    bolt: App
    edge: Edge
    messages: MessageSync
    runner: Runner
    bolt_pool: ThreadPoolExecutor
    handed_off: HandedOff | None = None      # set when an edge process acks for this one
    home: home.HomeTab | None = None         # publishes people's Home tabs (this process runs releases)
    pager: paging.Pager | None = None        # direct messages to the approvers a waiting release needs

    @property
    def identity(self) -> str:
        return self.runner.leadership.identity

    def start(self, edge_apart: bool = False) -> "Graybot":
        """Resume every release from Redis, bring messages up to date, then run. `edge_apart`:
        another process acks Slack (bot/app/ackpath.py) and hands the requests to this one."""
        if (warning := self.core.store.persistence_warning()) is not None:
            log.warning("%s", warning)
        self.messages.start()
        self.messages.resync()
        if self.home is not None:
            self.home.start()
        if self.pager is not None:
            self.pager.start()
        if edge_apart:
            self.handed_off = HandedOff(self.edge.inbox).start()
        self.edge.inbox.recover(older_than=0)     # what a dead process acked is carried out now
        self.runner.start()        # the elected process resumes releases and runs the timers
        return self

    def stop(self) -> None:
        """Every part that owns a thread stops it and joins it."""
        if self.handed_off is not None:
            self.handed_off.stop()
        self.runner.stop()
        self.messages.stop()
        if self.home is not None:
            self.home.stop()
        if self.pager is not None:
            self.pager.stop()
        self.edge.inbox.stop()
        self.bolt_pool.shutdown(wait=False, cancel_futures=True)
        join_pool(self.bolt_pool, 2.0)
        self.core.close()

    def health(self, budget: float = 0.5) -> dict:
        """Answers within about `budget` seconds whatever Redis does (the probe has 1 s)."""
        result: dict = {}

        def probe() -> None:
            try:
                result["redis"] = self.core.store.ping()
                result["active_releases"] = self.core.store.count_active()
                result["writes"] = self.core.store.write_problem()
            except Exception as exc:     # down or hung: the report says so
                result["error"] = type(exc).__name__
        thread = threading.Thread(target=probe, name="health-probe", daemon=True)
        thread.start()
        thread.join(budget)
        redis_ok = bool(result.get("redis")) and "writes" in result and result["writes"] is None
        down = self.core.clusters.unreachable()         # each cluster's last call's outcome
        rejecting = self.core.clusters.rejecting()
        cluster = "reachable" if not down else "unreachable"
        report = {"ok": redis_ok and not self.runner.timers_problem, "redis": redis_ok, "cluster": cluster,
                  "degraded": bool(down or rejecting), "unreachable_clusters": down,
                  "credentials_rejected": rejecting, "active_releases": result.get("active_releases")}
        if result.get("writes"):
            report["redis_refuses_writes"] = result["writes"]
        if self.runner.timers_problem:
            report["timers"] = self.runner.timers_problem
        return report

    def metrics_text(self, part: str = "all") -> bytes:
        try:                # one command each: a scrape costs the same with 5 or 500 releases
            telemetry.ACTIVE.set(self.core.store.count_active())
            telemetry.INBOX_PENDING.set(self.core.edge_state.inbox_size())
        except Exception:
            pass
        telemetry.LEADER.set(1 if self.runner.leading else 0)
        down = set(self.core.clusters.unreachable())
        for name in self.core.clusters:
            telemetry.CLUSTER_UP.labels(cluster=name).set(0 if name in down else 1)
        return telemetry.exposition(part)

    def http_server(self, host: str = "0.0.0.0", port: int = 3000, slack_events: bool = True) -> SlackHTTPServer:
        gates = flagger_webhooks(self.core.registry, self.core.store, self.core.settings.timezone)
        return SlackHTTPServer((host, port), self.bolt, self.health, self.metrics_text, slack_events=slack_events,
                               flagger=gates.answer)

    def connect_socket(self, app_token: str):
        """Socket Mode: open the WebSocket to Slack (handlers/socket.py); `.close()` ends it."""
        from handlers import socket as socket_edge

        return socket_edge.connect(self.bolt, app_token, self.core.edge_state)


def build(settings: Settings, core: Core | None = None, message_retry: float = 2.0,
          driver_period: float = 1.0) -> Graybot:
    core = core or build_core(settings)
    client = slack_client(settings)
    bolt_pool = ThreadPoolExecutor(5, "bolt-listeners")     # ours, so stop() can join it
    bolt = App(signing_secret=settings.slack_signing_secret, client=client, token_verification_enabled=False,
               listener_executor=bolt_pool)
    runner = build_runner(core, driver_period=driver_period)
    key = button_key(settings)
    desk = Desk(core.engine, slack_policy(client), core.edge_state, button_key=key, wake=runner.follow)
    inbox = Inbox(core.edge_state, desk.carry_out, SlackReplier(client), identity=runner.leadership.identity)
    edge = Edge(client, core.registry, core.edge_state, inbox)
    ready_counts = functools.partial(readiness.ready_counts, core.engine)
    messages = MessageSync(client, core.store, core.edge_state, ready_counts, retry_delay=message_retry,
                           button_key=key, fill_chart=core.engine.metrics.fill)
    home_tab = home.HomeTab(client, core.engine, desk.policy, core.edge_state, key)
    pager = paging.Pager(client, core.engine, desk.policy, core.edge_state, key)
    runner.duties.append(edge.inbox.recover)      # the leader carries out what dead processes acked
    runner.duties.append(pager.remind_due)        # and reminds paged approvers
    runner.duties.append(lambda: relay_notices(core))   # and tells what the CLI did
    core.engine.listeners += [messages.on_change, home_tab.on_change, pager.on_change,
                              lambda release, what, detail: telemetry.record_change(what, release.last_actor)]
    listeners.register(bolt, edge, desk.policy)
    return Graybot(core, bolt, edge, messages, runner, bolt_pool, home=home_tab, pager=pager)


def relay_notices(core: Core) -> int:
    """Changes made from a terminal (`graybot release`), told in each release's thread and live
    message as the bot's own are."""
    told = 0
    for release_id, what, detail in core.edge_state.notices_take():
        if (release := core.store.get(release_id)) is not None:
            core.engine.announce(release, what, detail)
            told += 1
    return told
