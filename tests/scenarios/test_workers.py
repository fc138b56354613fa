"""Real bot processes (`graybot worker`) on one Redis: killed between batches, a new one picks
up; two at once, one leads, and when it dies the other takes over. Nothing skipped, nothing twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from bot.domain.model import Phase
from tests.kit.wait import wait_until
from tests.kit.world import build_world

TTL = 2


@pytest.fixture
def ww(sandbox, kube, redis_client, redis_url, tmp_path):
    w = build_world(sandbox, kube, redis_client, tmp_path)
    wait_until(lambda: w.ready("user-v1") == 10, message="demo seed ready")
    env = dict(os.environ, KUBECONFIG=str(sandbox.kubeconfig), REDIS_URL=redis_url,
               GRAYBOT_CONFIG=str(tmp_path / "apps.yaml"), GRAYBOT_LEADER_TTL=str(TTL),
               GRAYBOT_MISFIRE_GRACE="60")
    procs = []

    def spawn(name: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc
    w.spawn = spawn
    w.leader = lambda: redis_client.get("graybot:leader:owner")
    yield w
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def pid_of(owner: str | None) -> int | None:
    return int(owner.rsplit(":", 1)[1]) if owner else None


def at(w, release_id, stage, phase=Phase.WAITING, timeout=40):
    return wait_until(lambda: (r := w.store.get(release_id)).stage == stage and r.phase == phase and r,
                      timeout=timeout, message=f"stage {stage} {phase.value}")


def finished(w, release_id, timeout=60):
    return wait_until(lambda: not (r := w.store.get(release_id)).phase.live and r, timeout=timeout,
                      message="release finished")


def assert_each_batch_once(w, release_id):
    audit = w.store.audit(release_id)
    assert [e["actor"] for e in audit if e["action"] == "approve"] == ["U_OPS", "scheduler", "scheduler"]
    healthy = [int(e["version"]) for e in audit if e["action"] == "stage_healthy"]
    assert len(healthy) == 3 == len(set(healthy))
    assert [e["action"] for e in audit].count("finished") == 1
    assert w.pods_by_image("user") == {"nginx:user-v2": 10}


def test_a_worker_killed_between_batches_is_replaced_without_loss(ww):
    r = ww.start("batch user-v2 --gray 1 --batches 3 --every 2s")
    first = ww.spawn("a")
    wait_until(lambda: pid_of(ww.leader()) == first.pid, timeout=20, message="first worker leads")
    at(ww, r.id, 0)
    ww.act("approve user", actor="U_OPS")
    waiting = at(ww, r.id, 2)
    assert waiting.runtime.next_at > time.time() - 1          # batch 3 is due on a timer
    os.kill(first.pid, signal.SIGKILL)                             # mid-release, job pending
    first.wait(10)
    second = ww.spawn("b")
    wait_until(lambda: pid_of(ww.leader()) == second.pid, timeout=20, message="second worker leads")
    done = finished(ww, r.id)
    assert done.phase == Phase.SUCCEEDED
    assert_each_batch_once(ww, r.id)


def test_two_workers_one_leader_and_a_handover(ww):
    a, b = ww.spawn("a"), ww.spawn("b")
    leader_pid = wait_until(lambda: pid_of(ww.leader()), timeout=20, message="a leader")
    assert leader_pid in (a.pid, b.pid)
    r = ww.start("batch user-v2 --gray 1 --batches 3 --every 1s")
    at(ww, r.id, 0)
    ww.act("approve user", actor="U_OPS")
    at(ww, r.id, 1)
    leader, other = (a, b) if leader_pid == a.pid else (b, a)
    os.kill(leader.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: pid_of(ww.leader()) == other.pid, timeout=TTL + 5, message="handover")
    assert time.monotonic() - killed_at <= TTL + 2                  # within a lock TTL (+ a renewal)
    done = finished(ww, r.id)
    assert done.phase == Phase.SUCCEEDED
    assert_each_batch_once(ww, r.id)
