"""`graybot serve` is two processes: the edge alone answers Slack (verify, write the inbox entry,
ack) and the worker that started it carries the request out. Proved on real processes: with the
worker frozen (SIGSTOP) the edge still acks, the entry waits in Redis for the worker, and is
carried out when it wakes (a burst of them in full, each once); a dead edge is started again on the same port; a dead worker takes its
edge with it; the probe through the edge tells when the worker does not answer."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from sandbox.slack import FakeSlack, slash_command_body
from tests.kit.processes import Bots, children
from tests.kit.wait import wait_until
from tests.kit.world import demo_world


@pytest.fixture
def bots(sandbox, kube, redis_client, redis_url, tmp_path):
    slack = FakeSlack().start()
    b = Bots(demo_world(sandbox, kube, redis_client, tmp_path), slack, redis_url, tmp_path)
    yield b
    for proc in b.procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
    b.stop_all()
    slack.stop()


def the_edge(worker_pid: int) -> int:
    return wait_until(lambda: (kids := children(worker_pid)) and kids[0], timeout=10, message="the edge process")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_edge_acks_while_the_worker_is_frozen_and_the_worker_carries_it_out_when_it_wakes(bots):
    b = bots
    worker = b.start()
    edge = the_edge(worker.pid)
    assert edge != worker.pid
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        resp = b.post(slash_command_body("status user", "U0ALICE"))
        took = time.monotonic() - started
        assert resp.status == 200 and "/release status user" in json.loads(resp.data)["text"]
        assert took < 1.0, f"the ack took {took:.2f}s with the worker frozen"
        pending = b.world.core.edge_state.inbox_stale(-1)
        assert [e["what"] for _, e in pending] == ["/release status user"]
        assert pending[0][1]["owner"].endswith(f":{worker.pid}")       # handed to this worker
        assert not b.slack.ephemerals("U0ALICE")                       # nothing carried out yet
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    said = wait_until(lambda: b.slack.ephemerals("U0ALICE"), timeout=20, message="the status answer")
    assert "user" in said[0]["text"]
    wait_until(lambda: not b.world.core.edge_state.inbox_stale(-1), timeout=10, message="the inbox emptied")


def test_a_burst_acked_while_the_worker_was_frozen_is_carried_out_in_full_each_answered_once(bots):
    """The worker gathers a burst before carrying it out (acks first): every request of it is
    carried out, none twice, and the inbox is left empty."""
    b = bots
    worker = b.start()
    the_edge(worker.pid)
    people = [f"U0P{i:03d}" for i in range(20)]
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        for person in people:
            assert b.post(slash_command_body("status user", person)).status == 200
        assert len(b.world.core.edge_state.inbox_stale(-1)) == 20
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    wait_until(lambda: all(b.slack.ephemerals(p) for p in people), timeout=30, message="every status answered")
    wait_until(lambda: not b.world.core.edge_state.inbox_stale(-1), timeout=10, message="the inbox emptied")
    assert [len(b.slack.ephemerals(p)) for p in people] == [1] * 20


def test_a_dead_edge_is_started_again_on_the_same_port(bots):
    b = bots
    worker = b.start()
    first = the_edge(worker.pid)
    os.kill(first, signal.SIGKILL)
    second = wait_until(lambda: [p for p in children(worker.pid) if p != first and alive(p)], timeout=15,
                        message="a new edge")[0]
    wait_until(b._healthy, timeout=20, message="the probe through the new edge")
    assert b.post(slash_command_body("status user", "U0BOB")).status == 200
    wait_until(lambda: b.slack.ephemerals("U0BOB"), timeout=20, message="the answer after the restart")
    assert alive(second) and worker.poll() is None


def test_a_killed_worker_takes_its_edge_with_it(bots):
    b = bots
    worker = b.start()
    edge = the_edge(worker.pid)
    b.kill()                                                  # SIGKILL: no chance to stop the edge itself
    wait_until(lambda: not alive(edge), timeout=10, message="the edge gone with its worker")


def test_the_probe_through_the_edge_fails_when_the_worker_does_not_answer(bots):
    b = bots
    worker = b.start()
    healthy = json.loads(b.http.request("GET", b.url + "/healthz", timeout=3).data)
    assert healthy["ok"] and healthy["edge"] == "ok" and healthy["redis"]
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        resp = b.http.request("GET", b.url + "/healthz", timeout=5, retries=False)
        assert resp.status == 503 and time.monotonic() - started < 3
        report = json.loads(resp.data)
        assert report["ok"] is False and "not answering" in report["worker"]
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    wait_until(b._healthy, timeout=10, message="healthy again once the worker runs")


def test_an_edge_whose_worker_is_already_gone_stops_at_once(tmp_path):
    """The race a restart can meet: the worker dies before its new edge even started. The edge
    watches the pid in its --worker identity, not whoever its parent is by then."""
    import subprocess
    import sys

    dead = subprocess.Popen(["true"])
    dead.wait(10)
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "bot.cli", "edge", "--host", "127.0.0.1", "--port", "0",
                          "--worker", f"vm:{dead.pid}", "--worker-url", "http://127.0.0.1:9"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and time.monotonic() - started < 20
    assert f"the worker process vm:{dead.pid} is gone before the edge started" in run.stderr + run.stdout


def test_an_edge_that_cannot_serve_stops_the_worker_after_three_tries(bots):
    """The edge's port is taken by another program: each edge exits at once; the worker starts it
    again twice, then stops with exit code 1 and says why (a pod restart, not a silent no-ack)."""
    import socket
    import subprocess
    import sys

    b = bots
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    try:
        run = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                             env=b.env, capture_output=True, text=True, timeout=120)
    finally:
        squatter.close()
    said = run.stdout + run.stderr
    assert run.returncode == 1, said[-2000:]
    assert "the edge process exited 3 times in 30 s" in said and said.count("starting it again") == 2
