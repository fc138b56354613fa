"""graybot on Redis Sentinel (real redis-server and redis-sentinel processes): the master is
SIGKILLed while a canary waits for approval and a batch waits on its timer; the sentinels
promote the replica, graybot (`graybot serve`, worker and edge) follows within seconds, every
acked request and saved transition is on the new master, no stage is applied twice, the timer
fires once; the old master that comes back is made a replica and is never written to."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from bot.adapters import redisurl
from bot.domain.model import Phase
from sandbox.slack import FakeSlack, block_action_body, slash_command_body
from tests.kit.processes import CHANNEL, Bots
from tests.kit.sentinel import SentinelRedis
from tests.kit.wait import wait_until
from tests.kit.world import demo_world


@pytest.fixture
def sentinel(tmp_path):
    (tmp_path / "redis").mkdir()
    cluster = SentinelRedis(tmp_path / "redis").start()
    yield cluster
    cluster.stop()


@pytest.fixture
def bots(sandbox, kube, sentinel, tmp_path):
    slack = FakeSlack().start()
    conn = redisurl.connect(sentinel.url, decode_responses=True, socket_timeout=1, socket_connect_timeout=1)
    b = Bots(demo_world(sandbox, kube, conn, tmp_path, redis_url=sentinel.url), slack, sentinel.url, tmp_path)
    yield b
    b.stop_all()
    slack.stop()


def active(b: Bots, app: str, phase: Phase, stage: int):
    return wait_until(lambda: (r := b.world.store.active_for(app)) and r.phase == phase and r.stage == stage and r,
                      timeout=40, message=f"{app} {phase.value} at stage {stage + 1}")


def click(b: Bots, release, action: str) -> None:
    value, ts = b.button(release, action)
    assert b.post(block_action_body(action, value, "U0ALICE", CHANNEL, ts)).status == 200


def acked_normally(b: Bots) -> bool:
    text = json.loads(b.post(slash_command_body("status user", "U0ALICE")).data)["text"]
    return "state store" not in text


def test_a_master_killed_mid_canary_and_mid_batch_loses_nothing(sentinel, bots):
    b, s = bots, sentinel
    b.start()
    assert b.post(slash_command_body("canary user-v2 --steps 20,50,100", "U0ALICE")).status == 200
    user = active(b, "user", Phase.WAITING, 0)
    assert b.post(slash_command_body("batch pay-v2 --gray 1 --batches 2 --every 4s", "U0ALICE")).status == 200
    click(b, active(b, "pay", Phase.WAITING, 0), "approve")            # the gray batch; timers from here
    pay = active(b, "pay", Phase.WAITING, 1)
    assert pay.runtime.next_at, "the batch waits on its timer"
    assert s.node("b").get(f"graybot:release:{pay.id}") == b.world.store.r.get(f"graybot:release:{pay.id}")

    s.kill("a")
    killed = time.monotonic()
    wait_until(lambda: s.master() == "b", timeout=30, message="the sentinels promote the replica")
    promoted = time.monotonic() - killed
    wait_until(lambda: acked_normally(b), timeout=30, message="graybot acks through the new master")
    followed = time.monotonic() - killed
    print(f"master killed -> replica promoted {promoted:.1f}s, graybot acking normally {followed:.1f}s")
    assert followed < 15

    saved = b.world.store.get(user.id)                        # every saved transition survived
    assert saved.version >= user.version and saved.phase == Phase.WAITING and saved.stage == 0
    click(b, saved, "approve")                                 # a click after the failover moves it
    active(b, "user", Phase.WAITING, 1)
    done = wait_until(lambda: (h := b.world.store.history("pay")) and h[0].phase == Phase.SUCCEEDED and h[0],
                      timeout=60, message="the batch finished on its timers")
    audit = b.world.store.audit(done.id)
    timer_moves = [(e["before"], e["after"], e.get("version")) for e in audit if e["actor"] == "scheduler"]
    assert [m[:2] for m in timer_moves] == [("waiting", "progressing")], f"the one timer fired: {timer_moves}"
    versions = [int(e["version"]) for e in audit if e.get("version")]
    assert versions == sorted(set(versions)), f"a transition was saved twice: {versions}"
    assert b.world.pods_by_image("pay") == {"nginx:pay-v2": 3}

    old = s.restart("a")                                       # the old master comes back, empty
    wait_until(lambda: s.role("a") == "slave", timeout=30, message="the sentinels make the old master a replica")
    latest = b.world.store.active_for("user")
    click(b, latest, "approve")
    finished = wait_until(lambda: (h := b.world.store.history("user")) and h[0].phase == Phase.SUCCEEDED and h[0],
                          timeout=60, message="the canary finished after the old master came back")
    assert s.master() == "b" and s.node("b").get(f"graybot:release:{user.id}")
    wait_until(lambda: old.get(f"graybot:release:{user.id}") == s.node("b").get(f"graybot:release:{user.id}"),
               timeout=15, message="the old master holds what the new one wrote, as its replica")
    assert finished.id == user.id


def test_check_config_and_serve_refuse_a_malformed_sentinel_url(tmp_path, sandbox):
    from sandbox.seed import seed_demo

    config = seed_demo(sandbox.store, tmp_path)
    env = {"PATH": "/usr/bin:/bin", "GRAYBOT_CONFIG": str(config), "SLACK_SIGNING_SECRET": "a-real-signing-secret",
           "SLACK_BOT_TOKEN": "xoxb-test", "REDIS_URL": "redis+sentinel://u:hunter22@127.0.0.1:26379,nohost/"}
    for args in (["check-config"], ["serve", "--port", "0"]):
        run = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True,
                             timeout=60)
        assert run.returncode in (1, 2), run
        assert "sentinel 'nohost' is not HOST:PORT" in run.stderr and "Traceback" not in run.stderr
        assert "hunter22" not in run.stderr + run.stdout and "u:***@" in run.stderr
