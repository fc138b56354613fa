"""The ack path alone: the process that answers Slack (`graybot edge`, started by `graybot serve`
and `graybot socket`) does nothing but verify the signature, refuse a replay, parse, write the
inbox entry and ack. Everything after the ack runs in the worker process that started it (the
engine, the policy, Slack replies and live messages), so no burst of engine work shares a GIL
with the acks.

Durability is the inbox's: the entry is written, owned by the worker and queued for it in one
atomic step (bot/adapters/edgestate.py `inbox_hand_off`), before the ack. If the worker dies after
the ack, its entries are carried out by the next leader, as any dead process's are.

/healthz and /metrics are the worker's, fetched from its loopback port (1 s): a hung worker makes
the probe fail, which is what a liveness probe is for; the ack histogram is this process's own."""
from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
from dataclasses import dataclass

from slack_bolt import App

from handlers import listeners
from handlers.access import slack_policy
from handlers.edge import Edge, SlackReplier
from handlers.http import FlaggerGate, SlackHTTPServer

from ..adapters import outbound, telemetry
from ..adapters.edgestate import EdgeState, ack_client
from ..adapters.store import Store
from ..config import Settings, load_registry
from ..core.requests import Request, Said
from ..runtime.inbox import Inbox
from ..runtime.lifecycle import catch_interrupts, freeze_start_up_objects, interrupted
from ..wiring import flagger_webhooks
from . import slack_client

log = logging.getLogger("graybot.edge")
PR_SET_PDEATHSIG = 1
WORKER_DEADLINE = 1.0       # seconds the worker has to answer a probe the edge forwards


def carried_out_elsewhere(request: Request, replayed: bool) -> Said | None:
    """An edge process's inbox never carries anything out: its requests go to the worker."""
    raise RuntimeError(f"{request.what}: handed to the worker, not carried out in the edge process")


@dataclass
class WorkerProbe:
    """The worker's /healthz and /metrics, over its loopback port."""
    url: str

    def health(self) -> dict:
        try:
            return dict(json.loads(outbound.call(self.url + "/healthz", WORKER_DEADLINE).body), edge="ok")
        except (outbound.Unanswered, ValueError) as exc:
            return {"ok": False, "edge": "ok", "worker": f"not answering ({exc})"}

    def metrics(self) -> bytes:
        try:
            worker = outbound.call(self.url + "/metrics", WORKER_DEADLINE).body
        except outbound.Unanswered:
            worker = b""
        return worker + telemetry.exposition(part="edge")


def build_edge(settings: Settings, worker: str) -> tuple[App, Edge, FlaggerGate]:
    """The Bolt app of the ack path: accepted requests are handed to `worker` (an identity); and the
    answerer of Flagger's gates, which needs Redis only (served on the same port)."""
    registry = load_registry(settings.config_path)
    store = Store.from_url(settings.redis_url)
    conn = store.r
    state = EdgeState(conn, ack=ack_client(conn))
    client = slack_client(settings)
    # process_before_response: the listener (parse, write, ack) runs in the HTTP thread itself.
    # Bolt's default runs it on a pool and polls for the ack every 10 ms: a pool hop and up to
    # 10 ms for nothing, here where the listener does no more than the ack.
    bolt = App(signing_secret=settings.slack_signing_secret, client=client, token_verification_enabled=False,
               process_before_response=True)
    inbox = Inbox(state, carried_out_elsewhere, SlackReplier(client), identity=f"edge-of-{worker}",
                  workers=2, worker=worker)
    edge = Edge(client, registry, state, inbox)
    listeners.register(bolt, edge, slack_policy(edge.client))   # which apps the start form offers
    return bolt, edge, flagger_webhooks(registry, store, settings.timezone).answer


def die_with_parent() -> None:
    """Linux stops this process (SIGTERM) when the worker that started it dies, even by SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):       # not Linux: the parent check in run_edge still stops it
        pass


def worker_pid(worker: str) -> int | None:
    """The worker's pid from its identity (HOST:PID): the parent to watch even when it died before
    this process looked (then getppid() is already someone else)."""
    pid = worker.rpartition(":")[2]
    return int(pid) if pid.isdigit() else None


def run_edge(settings: Settings, host: str, port: int, worker: str, worker_url: str, socket: bool = False) -> None:
    """Serve until SIGTERM, or until the worker that started this process is gone."""
    catch_interrupts()
    parent = worker_pid(worker) or os.getppid()
    die_with_parent()        # set before the check below: a worker that dies from here on is noticed
    if os.getppid() != parent:
        log.warning("the worker process %s is gone before the edge started; the edge stops", worker)
        return
    bolt, edge, flagger = build_edge(settings, worker)
    probe = WorkerProbe(worker_url)
    server = SlackHTTPServer((host, port), bolt, probe.health, probe.metrics, slack_events=not socket,
                             flagger=flagger)
    server.serve_in_thread()
    handler = None
    if socket:
        from handlers import socket as socket_edge

        handler = socket_edge.connect(bolt, settings.slack_app_token, edge.state)
    freeze_start_up_objects()
    log.info("graybot edge on http://%s:%d, handing requests to %s", host, port, worker)
    try:
        while not interrupted(1.0):
            if os.getppid() != parent:        # the worker died without stopping us: so do we
                log.warning("the worker process is gone; the edge stops")
                break
    finally:
        if handler is not None:
            handler.close()
        server.shutdown()
        edge.inbox.stop(timeout=2.0)
