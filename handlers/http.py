"""HTTP mode: POST /slack/events (commands and interactivity), GET /healthz, GET /metrics, and
POST /flagger/gates/HOOK (a Flagger Canary's webhooks: bot/core/flagger_webhooks.py answers).

Served by waitress, a production WSGI server, through Bolt's own WSGI adapter: no hand-written
HTTP parsing here. waitress answers 413 to a body over 1 MiB before reading it, handles
Content-Length and chunked bodies as RFC 9112 says, and closes idle connections; Bolt verifies
the signature and timestamp (401) before any listener runs. Shutdown stops accepting first,
lets in-flight acks finish, then stops."""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable, Iterable
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

log = logging.getLogger("graybot.http")
MAX_BODY = 1 << 20                  # Slack's payloads are a few KiB; anything over 1 MiB is refused
IDLE_TIMEOUT = 15                   # seconds a connection may sit without a request
REQUEST_DEADLINE = 10               # seconds from a request's first byte to its last (head and body)
PER_CLIENT = 64                     # connections open at once from one address
CONNECTIONS = 512                   # connections open at once in all
GATES = "/flagger/gates/"

FlaggerGate = Callable[[str, str, str, bytes], "tuple[int, str]"]    # (hook, token, cluster, body) -> answer
STATUS = {200: "200 OK", 400: "400 Bad Request", 403: "403 Forbidden", 404: "404 Not Found"}


class GraybotWSGI:
    """Routes the probes and the metrics beside Bolt, and counts requests in flight."""

    def __init__(self, bolt: App, health: Callable[[], dict], metrics: Callable[[], bytes],
                 slack_events: bool = True, flagger: FlaggerGate | None = None):
        """`slack_events` False (Socket Mode: Slack's events come over the WebSocket): only the
        probes, the metrics and Flagger's gates are served; /slack/events is not there to be tried."""
        self.slack = SlackRequestHandler(bolt, path="/slack/events")
        self.slack_events, self.flagger = slack_events, flagger
        self.health, self.metrics = health, metrics
        self.inflight = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        with self._lock:
            self.inflight += 1
        try:
            return self._route(environ, start_response)
        finally:
            with self._lock:
                self.inflight -= 1

    def _route(self, environ: dict, start_response) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        if method == "GET" and path == "/healthz":
            report = self.health()
            return _reply(start_response, "200 OK" if report.get("ok") else "503 Service Unavailable",
                          json.dumps(report).encode(), "application/json")
        if method == "GET" and path == "/metrics":
            return _reply(start_response, "200 OK", self.metrics(), "text/plain; version=0.0.4")
        if path.startswith(GATES) and self.flagger is not None:
            return self._gate(environ, start_response, method, path[len(GATES):])
        if path != "/slack/events" or not self.slack_events:
            return _reply(start_response, "404 Not Found", b"not found", "text/plain")
        if method != "POST":
            return _reply(start_response, "405 Method Not Allowed", b"POST only", "text/plain")
        if not environ.get("HTTP_X_SLACK_SIGNATURE") or \
                not environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "").isdigit():
            # unsigned, or a timestamp that is no number: refused as Bolt refuses a bad signature
            return _reply(start_response, "401 Unauthorized", b"invalid request", "text/plain")
        try:
            return list(self.slack(environ, start_response))
        except Exception as exc:     # a body Bolt cannot even parse: the sender's mistake
            log.warning("bad request to /slack/events: %s: %s", type(exc).__name__, exc)
            return _reply(start_response, "400 Bad Request", b"bad request", "text/plain")


    def _gate(self, environ: dict, start_response, method: str, hook: str) -> Iterable[bytes]:
        if method != "POST":
            return _reply(start_response, "405 Method Not Allowed", b"POST only", "text/plain")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        bearer = environ.get("HTTP_AUTHORIZATION", "")
        token = bearer[7:] if bearer.startswith("Bearer ") else (query.get("token") or [""])[0]
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        body = environ["wsgi.input"].read(min(size, MAX_BODY)) if size > 0 else b""
        assert self.flagger is not None
        status, text = self.flagger(hook, token, (query.get("cluster") or [""])[0], body)
        return _reply(start_response, STATUS.get(status, f"{status} Error"), text.encode(), "text/plain")


def _reply(start_response, status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


class SlackHTTPServer:
    def __init__(self, address: tuple[str, int], bolt: App, health: Callable[[], dict],
                 metrics: Callable[[], bytes], threads: int = 16, slack_events: bool = True,
                 flagger: FlaggerGate | None = None):
        self.app = GraybotWSGI(bolt, health, metrics, slack_events, flagger)
        self.server = create_server(self.app, host=address[0], port=address[1], threads=threads,
                                    max_request_body_size=MAX_BODY, channel_timeout=IDLE_TIMEOUT,
                                    connection_limit=CONNECTIONS, cleanup_interval=1, ident="graybot",
                                    expose_tracebacks=False, clear_untrusted_proxy_headers=True)
        guard_slow_clients(self.server)
        self._thread: threading.Thread | None = None

    @property
    def server_address(self) -> tuple[str, int]:
        return self.server.effective_host, self.server.effective_port

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{host}:{port}"

    def serve_in_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.server.run, name="slack-http", daemon=True)
        self._thread.start()
        return self._thread

    def shutdown(self, grace: float = 3.0) -> None:
        """Stop accepting, let the requests in flight finish (up to `grace`), then close."""
        stopped = threading.Event()

        def stop_listening() -> None:
            wasyncore.dispatcher.close(self.server)     # the listening socket only
            stopped.set()
        self.server.trigger.pull_trigger(stop_listening)
        stopped.wait(1.0)
        deadline = time.monotonic() + grace
        while self.app.inflight and time.monotonic() < deadline:
            time.sleep(0.02)
        self.server.task_dispatcher.shutdown(timeout=1)
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        if self._thread is not None:
            self._thread.join(2)


class DeadlineChannel(HTTPChannel):
    """A connection that notes when its current request's first byte came: waitress's idle
    timeout resets on every byte, so a client trickling a header line every few seconds would
    otherwise hold its connection (and one of the server's slots) for ever."""
    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if data and self.request is None and self.request_started is None:
            self.request_started = time.monotonic()
        result = super().received(data)
        if self.request is None:                # nothing half-received: the next request starts fresh
            self.request_started = None
        return result


def guard_slow_clients(server) -> None:
    """A deadline for each whole request and a limit of connections per client address, on
    waitress's own server (its channel class and its once-a-second maintenance)."""
    server.channel_class = DeadlineChannel
    plain_maintenance, plain_accept = server.maintenance, server.handle_accept

    def maintenance(now: float) -> None:
        plain_maintenance(now)
        for channel in list(server.active_channels.values()):
            started = getattr(channel, "request_started", None)
            if started is not None and time.monotonic() - started > REQUEST_DEADLINE:
                channel.will_close = True          # waitress closes it on its next turn

    def handle_accept() -> None:
        before = set(server.active_channels)
        plain_accept()
        for fd in set(server.active_channels) - before:
            channel = server.active_channels[fd]
            peer = (channel.addr or ("",))[0]
            if sum(1 for c in server.active_channels.values() if (c.addr or ("",))[0] == peer) > PER_CLIENT:
                log.warning("refused a connection from %s: %d already open", peer, PER_CLIENT)
                channel.handle_close()
    server.maintenance, server.handle_accept = maintenance, handle_accept
