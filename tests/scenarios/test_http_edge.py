"""The HTTP edge as an attacker meets it: oversized bodies refused before they are read, one
response per request (no smuggling through chunked bodies), malformed input answered 400/401
with nothing changed, idle connections that do not starve others, and a fuzz of hostile bodies."""
from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sandbox.slack import signature_headers
from tests.kit.slack import SECRET, start_slack_world, stop_slack_world


@pytest.fixture(scope="module")
def sw(tmp_path_factory, redis_url):
    """One bot for the module: these requests must change nothing, so they can share it."""
    import dataclasses

    import redis as redis_lib
    from kubernetes import config

    from sandbox.cluster import Sandbox
    from tests.conftest import FAST
    tmp = tmp_path_factory.mktemp("edge")
    cluster = Sandbox(timing=dataclasses.replace(FAST)).start()
    cluster.kubeconfig = cluster.write_kubeconfig(tmp / "kubeconfig")
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    conn = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    conn.flushall()
    world = start_slack_world(cluster, api, conn, tmp)
    world.conn = conn
    yield world
    stop_slack_world(world)
    cluster.stop()


def raw(sw, data: bytes, read_timeout: float = 5.0) -> bytes:
    """Send bytes on one connection; everything the server answers until it closes."""
    host, port = urlsplit(sw.url).hostname, urlsplit(sw.url).port
    with socket.create_connection((host, port), timeout=read_timeout) as conn:
        try:
            conn.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def state(sw) -> list[str]:
    bookkeeping = ("graybot:leader", "graybot:alive:", "graybot:seen:", "graybot:aps:")
    return sorted(k for k in sw.conn.keys("graybot:*") if not k.startswith(bookkeeping))


def test_a_body_over_1_mib_is_refused_before_it_is_read(sw):
    import tracemalloc
    before = state(sw)
    head = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"X-Slack-Signature: v0=00\r\nX-Slack-Request-Timestamp: 1\r\n"
            b"Content-Length: 52428800\r\nConnection: close\r\n\r\n")
    tracemalloc.start()
    tracemalloc.reset_peak()
    answer = raw(sw, head + b"a" * 65536)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert peak < 20 * 2 ** 20, f"peak {peak / 2 ** 20:.1f} MiB"
    assert state(sw) == before


def test_a_chunked_body_wrapping_a_request_gets_one_response(sw):
    inner = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)
    answer = raw(sw, b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n" + body)
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert answer.startswith(b"HTTP/1.1 401") and b"graybot_" not in answer


@pytest.mark.parametrize("body", ["payload=%7Bnot-json", "payload=", "payload=%5B%5D"])
def test_a_malformed_signed_payload_is_a_400_and_changes_nothing(sw, body):
    before = state(sw)
    resp = sw.post(body)
    assert resp.status == 400 and state(sw) == before


def test_a_garbage_timestamp_is_refused_not_an_error(sw):
    body = "command=%2Frelease&text=status"
    headers = dict(signature_headers(SECRET, body), **{"X-Slack-Request-Timestamp": "garbage"})
    assert sw.post(body, headers).status == 401


def test_idle_connections_do_not_starve_a_real_request(sw):
    host, port = urlsplit(sw.url).hostname, urlsplit(sw.url).port
    # the flood from one address (127.0.0.2, also loopback), the real request from another: the
    # per-address limit refuses the flood's extra connections, never another client's request
    idle = [socket.create_connection((host, port), source_address=("127.0.0.2", 0)) for _ in range(200)]
    for conn in idle[:100]:
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
    try:
        started = time.monotonic()
        resp = sw.http.request("GET", sw.url + "/healthz", timeout=5, retries=False)
        assert resp.status == 200 and time.monotonic() - started < 1
        assert sw.command("help").status == 200
    finally:
        for conn in idle:
            conn.close()


HOSTILE = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(lambda k, v: f"{k}={v}".encode(), st.sampled_from(["payload", "command", "text", "ssl_check"]),
              st.text(max_size=300)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=HOSTILE, signed=st.booleans(),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain"]))
def test_hostile_bodies_never_get_a_5xx_nor_change_anything(sw, body, signed, content_type):
    before = state(sw)
    text = body.decode("utf-8", "replace")
    headers = signature_headers(SECRET, text) if signed else {}
    resp = sw.http.request("POST", sw.url + "/slack/events", body=text.encode(),
                           headers=dict(headers, **{"Content-Type": content_type}), timeout=5, retries=False)
    assert resp.status < 500, (resp.status, body[:80])
    assert state(sw) == before or all(k.startswith("graybot:inbox") for k in set(state(sw)) - set(before))
    assert sw.world.kube.deployment("default", "user-v2") is None


def test_a_request_stamped_in_the_future_is_refused_and_changes_nothing(sw):
    from sandbox.slack import slash_command_body

    before = state(sw)
    body = slash_command_body("canary user-v2 10%", "U0ALICE")
    resp = sw.post(body, headers=signature_headers(SECRET, body, timestamp=int(time.time()) + 290))
    assert resp.status == 401 and state(sw) == before and sw.world.store.active_for("user") is None


def test_the_replay_guard_remembers_a_signature_until_its_own_window_ends(sw):
    from sandbox.slack import slash_command_body

    body = slash_command_body("status user", "U0ALICE")
    stamp = int(time.time()) - 100                   # signed 100 s ago: the window has 210 s left
    assert sw.post(body, headers=signature_headers(SECRET, body, timestamp=stamp)).status == 200
    signature = signature_headers(SECRET, body, timestamp=stamp)["X-Slack-Signature"]
    ttl = sw.conn.ttl(f"graybot:seen:{signature}")
    assert 200 <= ttl <= 211


def test_a_signed_click_without_a_user_is_a_400(sw):
    import json
    from urllib.parse import urlencode

    before = state(sw)
    payload = {"type": "block_actions", "actions": [{"action_id": "approve", "value": "{}"}],
               "channel": {"id": "C0RELEASE"}, "container": {"message_ts": "1.0"}}
    body = urlencode({"payload": json.dumps(payload)})
    resp = sw.post(body)
    assert resp.status == 400 and state(sw) == before


def test_trickling_clients_are_cut_at_the_request_deadline_and_limited_per_address(sw):
    from handlers.http import PER_CLIENT, REQUEST_DEADLINE

    host, port = urlsplit(sw.url).hostname, urlsplit(sw.url).port
    slow = []
    for _ in range(PER_CLIENT + 16):                 # one attacker address, more than it may open
        conn = socket.create_connection((host, port), timeout=5, source_address=("127.0.0.2", 0))
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: graybot\r\n")
        slow.append(conn)
    began = time.monotonic()
    assert sw.http.request("GET", sw.url + "/healthz", timeout=3, retries=False).status == 200   # others served

    def closed(conn) -> bool:
        conn.settimeout(0.05)
        try:
            conn.sendall(b"X-Trickle: 1\r\n")      # one more header line: an idle timeout would reset on it
            return conn.recv(1) == b""
        except (socket.timeout, BlockingIOError):
            return False
        except OSError:
            return True
    refused = sum(closed(c) for c in slow)
    assert refused >= 16                             # over the per-address limit: closed at once
    while time.monotonic() - began < REQUEST_DEADLINE + 4 and not all(closed(c) for c in slow):
        time.sleep(1)                                # each still trickles: a header line a second
    assert all(closed(c) for c in slow)              # none outlives the deadline for a whole request
    for conn in slow:
        conn.close()
    assert sw.http.request("GET", sw.url + "/healthz", timeout=3, retries=False).status == 200
