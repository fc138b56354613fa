"""HTTP mode: POST /slack/events (commands and interactivity), GET /healthz, GET /metrics.

A ThreadingHTTPServer in front of Bolt's `dispatch` (Bolt verifies the signature and the
timestamp and answers 401 itself); it returns as soon as the listener has acked."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from slack_bolt import App, BoltRequest

log = logging.getLogger("graybot.http")


class SlackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], bolt: App, health: Callable[[], dict],
                 metrics: Callable[[], bytes]):
        super().__init__(address, _Handler)
        self.bolt, self.health, self.metrics = bolt, health, metrics

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="slack-http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SlackHTTPServer

    def log_message(self, fmt, *args):
        log.debug(fmt, *args)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, values in (headers or {}).items():
            for value in values if isinstance(values, (list, tuple)) else [values]:
                if key.lower() not in ("content-type", "content-length"):
                    self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/healthz":
            report = self.server.health()
            return self._send(200 if report.get("ok") else 503, json.dumps(report).encode(),
                              "application/json")
        if path == "/metrics":
            return self._send(200, self.server.metrics(), "text/plain; version=0.0.4")
        self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        if self.path.split("?")[0] != "/slack/events":
            return self._send(404, b"not found", "text/plain")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        headers = {k.lower(): [v] for k, v in self.headers.items()}
        response = self.server.bolt.dispatch(BoltRequest(body=raw, headers=headers))
        body = (response.body or "").encode("utf-8")
        content_type = (response.headers.get("content-type") or ["text/plain;charset=utf-8"])[0]
        self._send(response.status, body, content_type, response.headers)
