"""Gate calls against real loopback HTTP servers that misbehave: a webhook answering a byte at a
time is cut at its timeout (not per read), a redirect fails without being followed, credentials in
a URL go as basic auth and never into evidence, and a metric answer of several series or of an
infinity is inconclusive, never a pass."""
from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.domain.metrics import Metric
from bot.domain.rules import Webhook
from bot.gates import FAIL, INCONCLUSIVE, PASS, MetricGate
from bot.gates.prometheus import Prometheus
from bot.gates.webhooks import WebhookGate
from tests.kit.releases import release


class Misbehaving(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str]] = []        # (method, path, Authorization)
    prometheus_answer: dict = {}

    def log_message(self, *args) -> None:
        pass

    def _record(self) -> None:
        Misbehaving.seen.append((self.command, self.path, self.headers.get("Authorization", "")))

    def do_GET(self) -> None:
        self._record()
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        self._record()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/trickle"):
            self.send_response(200)
            self.send_header("Content-Length", "40")
            self.end_headers()
            for _ in range(40):                   # one byte every 0.3 s: 12 s in all
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(0.3)
        elif self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere?token=leak")
            self.end_headers()
        elif self.path.startswith("/api/v1/query"):
            body = json.dumps(Misbehaving.prometheus_answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(204)
            self.end_headers()


@pytest.fixture
def server():
    Misbehaving.seen = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_a_webhook_answering_a_byte_at_a_time_is_cut_at_its_timeout(server):
    verdict = WebhookGate().call(Webhook(f"{server}/trickle", 1), "pre-promotion", release())
    assert verdict.result == INCONCLUSIVE and "did not answer within 1s" in verdict.evidence


def test_a_redirect_fails_the_gate_and_is_not_followed(server):
    verdict = WebhookGate().call(Webhook(f"{server}/redirect", 5), "pre-promotion", release())
    assert verdict.result == FAIL and "302, a redirect to http://127.0.0.1:9/elsewhere" in verdict.evidence
    assert "token" not in verdict.evidence and [m for m, _, _ in Misbehaving.seen] == ["POST"]


def test_credentials_in_a_url_are_sent_as_basic_auth_and_never_shown(server):
    url = server.replace("http://", "http://deploy:s3cr%40t@") + "/hook?token=abc123"
    verdict = WebhookGate().call(Webhook(url, 5), "post-rollout", release())
    assert verdict.result == PASS and verdict.evidence == f"post-rollout webhook {server}/hook: 204"
    method, path, auth = Misbehaving.seen[-1]
    assert path == "/hook?token=abc123" and auth == "Basic " + base64.b64encode(b"deploy:s3cr@t").decode()


def gate_with(server: str, answer: dict, **bounds) -> tuple[str, str]:
    Misbehaving.prometheus_answer = answer
    verdict = MetricGate({"prometheus": Prometheus(server)})._fixed(Metric("error-rate", "errors", **bounds),
                                                                    Prometheus(server), "errors")
    return verdict.result, verdict.evidence


def vector(*values: str) -> dict:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"pod": f"p{i}"}, "value": [0, v]} for i, v in enumerate(values)]}}


def test_several_series_are_inconclusive_with_how_to_aggregate(server):
    result, evidence = gate_with(server, vector(*(["0"] + ["0.9"] * 50)), max=0.05)
    assert result == INCONCLUSIVE and "51 series answered" in evidence and "aggregate" in evidence


@pytest.mark.parametrize("value, bounds", [("-Inf", {"max": 0.05}), ("+Inf", {"min": 0.9})])
def test_an_infinity_is_inconclusive_not_a_pass(server, value, bounds):
    result, evidence = gate_with(server, vector(value), **bounds)
    assert result == INCONCLUSIVE and "not a finite number" in evidence
