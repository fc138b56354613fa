"""What the previous graybot (before typed release state) left in Redis is carried on by this one:
its release record (schema 1), the timer job its leader armed in APScheduler's Redis job store, and
a request its process acknowledged but never carried out (an inbox entry). The previous version's
own code writes them: it is taken from git history (PREVIOUS) and run as its own processes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from bot.adapters import keys
from bot.domain.model import Phase
from tests.kit.slack import CHANNEL, slack_settings, slack_world_over, stop_slack_world
from tests.kit.wait import wait_until
from tests.kit.world import demo_world
from sandbox.slack import FakeSlack

PREVIOUS = "1fd5126"      # the last commit of schema 1 (options dict, the running wave kept twice)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def previous(tmp_path) -> str:
    """The previous version's source tree, from git history."""
    where = tmp_path / "previous"
    where.mkdir()
    archive = subprocess.run(["git", "-C", ROOT, "archive", PREVIOUS, "bot", "handlers", "strategies", "sandbox"],
                             capture_output=True, timeout=60)
    if archive.returncode != 0:
        pytest.skip(f"git history without {PREVIOUS}: {archive.stderr.decode()[:200]}")
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True, timeout=60)
    return str(where)


def test_a_release_its_timer_and_an_acked_request_of_the_previous_version_finish_here(
        previous, sandbox, kube, redis_client, tmp_path):
    slack = FakeSlack().start()
    world = demo_world(sandbox, kube, redis_client, tmp_path, **slack_settings(slack), leader_ttl=2)
    s = world.core.settings
    env = dict(os.environ, PYTHONPATH=previous, KUBECONFIG=s.kubeconfig, REDIS_URL=s.redis_url,
               GRAYBOT_CONFIG=s.config_path, GRAYBOT_LEADER_TTL="2")
    old = lambda *words: subprocess.run([sys.executable, "-m", "bot.cli", *words], cwd=previous, env=env,  # noqa: E731
                                        capture_output=True, text=True, timeout=120)
    started = old("release", "canary", "user-v2", "--steps", "10,50,100", "--auto", "6s")
    assert started.returncode == 0, started.stderr
    release_id = redis_client.get(keys.active_of("user"))
    written = json.loads(redis_client.get(keys.release(release_id)))
    assert "options" in written and "schema" not in written and written["options"]["auto"] == 6   # schema 1
    worker = subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], cwd=previous, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:                                      # its leader arms the --auto timer, then it dies
        wait_until(lambda: redis_client.hlen(keys.timer_jobs()) == 1, timeout=30, message="the old timer armed")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert json.loads(redis_client.get(keys.release(release_id)))["stage"] == 0
    redis_client.xadd(keys.inbox(), {"at": "1.0", "request": json.dumps(       # as the old Slack edge wrote it
        {"kind": "command", "what": "/release status user", "text": "status user", "user": "U0ALICE",
         "channel": CHANNEL, "app": "user", "owner": "old-host:1"})})

    sw = slack_world_over(world, slack)
    try:
        told = wait_until(lambda: sw.ephemeral_texts("U0ALICE"), timeout=20, message="the acked request answered")
        assert "graybot restarted while handling `/release status user`" in told[0] and "phase waiting" in told[0]
        done = wait_until(lambda: (h := sw.world.store.history("user")) and h[0].phase == Phase.SUCCEEDED and h[0],
                          timeout=60, message="finished by the old timer, then the new ones")
        assert done.id == release_id and done.command.auto == 6
        timed = [e for e in sw.world.store.audit(release_id) if e["action"] == "approve"]
        assert [e["actor"] for e in timed] == ["scheduler", "scheduler"]      # 10 -> 50 -> 100 by the timers
        assert (world.replicas("user-v2"), world.replicas("user-v1")) == (10, None)
        assert json.loads(redis_client.get(keys.release(release_id)))["schema"] == 2
    finally:
        stop_slack_world(sw)
