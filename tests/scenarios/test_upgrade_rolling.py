"""A rolling upgrade from the previous release of graybot (N, from git history, in a virtualenv
of its own) to this code (N+1): two N replicas start a canary at 30% and a batch whose timer is
pending, while people keep asking; one N+1 replica starts, an N one gets SIGTERM, and again.
Nothing is lost: every acked request is answered, the N+1 replicas finish both releases (the
batch by the timer N armed, firing once) and the records carry on."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import threading
import time

import pytest

from bot.domain.model import Phase
from sandbox.slack import FakeSlack, block_action_body, slash_command_body
from tests.kit.processes import CHANNEL, Bots
from tests.kit.wait import wait_until
from tests.kit.world import demo_world

PREVIOUS_RELEASE = "2e22710"   # graybot N: the last landed release before this one
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def previous(tmp_path) -> tuple[str, str]:
    """(python, source tree) of graybot N in a virtualenv of its own: its code from git history,
    the third-party libraries of this one (the same pins)."""
    tree = tmp_path / "previous"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", ROOT, "archive", PREVIOUS_RELEASE, "bot", "handlers", "strategies"],
                             capture_output=True, timeout=60)
    if archive.returncode != 0:
        pytest.skip(f"git history without {PREVIOUS_RELEASE}: {archive.stderr.decode()[:200]}")
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True, timeout=60)
    venv = tmp_path / "previous-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    with open(os.path.join(site, "graybot-previous.pth"), "w") as pth:
        pth.write(f"{tree}\n{sysconfig.get_paths()['purelib']}\n")
    which = subprocess.run([str(venv / "bin" / "python"), "-c", "import bot.cli, importlib.util; print(bot.cli.__file__,"
                            " importlib.util.find_spec('bot.adapters.redisurl') is None)"],
                           cwd=tree, env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=60)
    assert which.stdout.split() == [str(tree / "bot" / "cli.py"), "True"], which    # N's code, not this one
    return str(venv / "bin" / "python"), str(tree)


@pytest.fixture
def bots(sandbox, kube, redis_client, redis_url, tmp_path):
    slack = FakeSlack().start()
    b = Bots(demo_world(sandbox, kube, redis_client, tmp_path), slack, redis_url, tmp_path)
    yield b
    b.stop_all()
    slack.stop()


class Askers:
    """People asking `/release status user` of every running replica, one after another."""

    def __init__(self, b: Bots):
        self.b, self.acked, self.stop = b, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            live = [url for proc, url in zip(self.b.procs, self.b.urls.values()) if proc.poll() is None]
            for url in live:
                user = f"U0ASK{n:03d}"
                n += 1
                try:
                    if self.b.post(slash_command_body("status user", user), url=url).status == 200:
                        self.acked.append(user)
                except Exception:        # a replica stopping: refused, never acked, nothing owed
                    pass
            time.sleep(0.05)


def active(b: Bots, app: str, stage: int):
    return wait_until(lambda: (r := b.world.store.active_for(app)) and r.phase == Phase.WAITING
                      and r.stage == stage and r, timeout=40, message=f"{app} waiting at stage {stage + 1}")


def test_a_rolling_upgrade_from_the_previous_release_loses_nothing(previous, bots):
    b, (old_python, old_tree) = bots, previous
    old_env = {k: v for k, v in b.env.items() if k != "PYTHONPATH"}
    old = [b.start(python=old_python, cwd=old_tree, env=old_env) for _ in range(2)]
    assert b.post(slash_command_body("canary user-v2 --steps 30,100", "U0ALICE")).status == 200
    canary = active(b, "user", 0)
    assert b.world.pods_by_image("user") == {"nginx:user-v1": 7, "nginx:user-v2": 3}
    assert b.post(slash_command_body("batch pay-v2 --gray 1 --batches 2 --every 8s", "U0ALICE")).status == 200
    value, ts = b.button(active(b, "pay", 0), "approve")
    assert b.post(block_action_body("approve", value, "U0ALICE", CHANNEL, ts)).status == 200
    batch = active(b, "pay", 1)
    assert batch.runtime.next_at                                    # N armed the timer: its leader's
    wait_until(lambda: b.world.store.r.hlen("graybot:aps:jobs") == 1, timeout=10,   # timers write it
               message="the batch's timer in the job store")

    askers = Askers(b)
    askers.thread.start()
    for proc in old:                              # one N+1 up, then one N down, twice
        b.start()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    time.sleep(0.5)
    askers.stop.set()
    askers.thread.join(10)
    assert len(askers.acked) > 20
    wait_until(lambda: all(b.slack.ephemerals(u) for u in askers.acked), timeout=30,
               message="every acked request answered")

    done = wait_until(lambda: (h := b.world.store.history("pay")) and h[0].phase == Phase.SUCCEEDED and h[0],
                      timeout=60, message="the batch finished by N's timer on N+1")
    timer_moves = [e for e in b.world.store.audit(done.id) if e["actor"] == "scheduler"]
    assert [(e["before"], e["after"]) for e in timer_moves] == [("waiting", "progressing")]
    value, ts = b.button(b.world.store.get(canary.id), "approve")
    assert b.post(block_action_body("approve", value, "U0ALICE", CHANNEL, ts)).status == 200
    finished = wait_until(lambda: (h := b.world.store.history("user")) and h[0].phase == Phase.SUCCEEDED and h[0],
                          timeout=60, message="the canary finished on N+1")
    assert finished.id == canary.id and b.world.pods_by_image("user") == {"nginx:user-v2": 10}
    assert not b.world.core.edge_state.inbox_stale(-1)
