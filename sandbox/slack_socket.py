"""Slack's side of Socket Mode, on the loopback (https://api.slack.com/apis/socket-mode):
`apps.connections.open` (with an app-level `xapp-` token) hands out a one-time WebSocket URL; the
server greets each connection with `hello`, delivers `slash_commands` and `interactive` envelopes
with an `envelope_id`, records each ack (and the payload it carries: a slash command's immediate
reply travels in it), and can send `disconnect` (reason `refresh_requested` or `warning`) and
close, after which the client must open a new connection. Envelopes not acked when a connection
goes are delivered again on the next one with `retry_attempt` raised, as Slack retries them.

The WebSocket protocol itself is the `websockets` library's (its threaded server).
"""
from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

APP_ID = "A0GRAYBOT"


@dataclass
class Envelope:
    envelope_id: str
    type: str                       # slash_commands | interactive
    payload: dict
    sent_at: list[float] = field(default_factory=list)     # one per delivery (monotonic)
    acked_at: float | None = None
    ack_payload: dict | None = None
    attempts: int = 0

    def frame(self) -> str:
        return json.dumps({"envelope_id": self.envelope_id, "type": self.type, "payload": self.payload,
                           "accepts_response_payload": self.type == "slash_commands",
                           "retry_attempt": max(0, self.attempts - 1),
                           "retry_reason": "timeout" if self.attempts > 1 else ""})

    @property
    def ack_seconds(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.sent_at[-1]


class SocketModeServer:
    def __init__(self, host: str = "127.0.0.1"):
        self.cond = threading.Condition()
        self.tickets: set[str] = set()
        self.connections: list[ServerConnection] = []
        self.envelopes: dict[str, Envelope] = {}
        self.opened = 0                      # connections that got `hello`
        self.stray_acks: list[dict] = []     # acks for unknown envelope ids
        self._ids = itertools.count(1)
        self.server = serve(self._session, host, 0, ping_interval=None)
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-slack-socket", daemon=True)

    @property
    def port(self) -> int:
        return self.server.socket.getsockname()[1]

    def start(self) -> "SocketModeServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    # -- apps.connections.open -------------------------------------------------------------
    def open_url(self, token: str) -> dict:
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        ticket = uuid.uuid4().hex
        with self.cond:
            self.tickets.add(ticket)
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"}

    # -- a connection ----------------------------------------------------------------------
    def _session(self, ws: ServerConnection) -> None:
        ticket = (parse_qs(urlsplit(ws.request.path).query).get("ticket") or [""])[0]
        with self.cond:
            if ticket not in self.tickets:
                ws.close(code=4001, reason="invalid ticket")
                return
            self.tickets.discard(ticket)           # one connection per URL
        ws.send(json.dumps({"type": "hello", "num_connections": len(self.connections) + 1,
                            "debug_info": {"host": "sandbox-socket", "approximate_connection_time": 3600},
                            "connection_info": {"app_id": APP_ID}}))
        with self.cond:
            self.connections.append(ws)
            self.opened += 1
            waiting = [e for e in self.envelopes.values() if e.acked_at is None]
            self.cond.notify_all()
        for envelope in waiting:                   # unacked on a lost connection: Slack retries
            self._deliver(ws, envelope)
        try:
            for raw in ws:
                self._on_frame(raw)
        except ConnectionClosed:
            pass
        finally:
            with self.cond:
                if ws in self.connections:
                    self.connections.remove(ws)
                self.cond.notify_all()

    def _on_frame(self, raw) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            return
        with self.cond:
            envelope = self.envelopes.get(frame.get("envelope_id", ""))
            if envelope is None:
                self.stray_acks.append(frame)
            elif envelope.acked_at is None:
                envelope.acked_at, envelope.ack_payload = time.monotonic(), frame.get("payload")
            self.cond.notify_all()

    def _deliver(self, ws: ServerConnection, envelope: Envelope) -> None:
        with self.cond:
            envelope.attempts += 1
            envelope.sent_at.append(time.monotonic())
        try:
            ws.send(envelope.frame())
        except ConnectionClosed:
            pass                                   # delivered again on the next connection

    # -- test controls ---------------------------------------------------------------------
    def send(self, kind: str, payload: dict) -> Envelope:
        """Deliver an envelope on the newest connection (or on the next one, if none is open)."""
        envelope = Envelope(f"{uuid.uuid4()}-{next(self._ids)}", kind, payload)
        with self.cond:
            self.envelopes[envelope.envelope_id] = envelope
            ws = self.connections[-1] if self.connections else None
        if ws is not None:
            self._deliver(ws, envelope)
        return envelope

    def redeliver(self, envelope: Envelope) -> None:
        """Send an envelope again on the newest connection, as Slack does when an ack is late."""
        with self.cond:
            envelope.acked_at, ws = None, self.connections[-1]
        self._deliver(ws, envelope)

    def wait_ack(self, envelope: Envelope, timeout: float = 5.0) -> Envelope:
        deadline = time.monotonic() + timeout
        with self.cond:
            while envelope.acked_at is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"envelope {envelope.envelope_id} not acked within {timeout}s")
                self.cond.wait(left)
        return envelope

    def wait_connected(self, count: int = 1, timeout: float = 20.0) -> None:
        """Until `count` connections in all have said hello and one is open."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.opened < count or not self.connections:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no Socket Mode connection #{count} within {timeout}s")
                self.cond.wait(left)

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Tell every open connection to go, then close it (Slack closes soon after)."""
        with self.cond:
            open_now = list(self.connections)
        for ws in open_now:
            try:
                ws.send(json.dumps({"type": "disconnect", "reason": reason,
                                    "debug_info": {"host": "sandbox-socket"}}))
                ws.close(code=1000, reason=reason)
            except ConnectionClosed:
                pass
