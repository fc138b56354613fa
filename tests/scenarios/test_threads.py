"""Every thread graybot starts has an owner that stops and joins it: a bot that ran a release
(leader duties, watches, timers, message workers, lock keeper, request workers) and was stopped
leaves no thread of its own running."""
from __future__ import annotations

import threading

from bot.domain.model import Phase
from tests.kit.slack import start_slack_world


def test_a_started_and_stopped_bot_leaves_no_thread_of_ours(sandbox, kube, redis_client, tmp_path):
    before = set(threading.enumerate())
    sw = start_slack_world(sandbox, kube, redis_client, tmp_path)
    sw.command("canary user-v2 --steps 10,100")
    sw.wait_buttons("approve", "pause", "rollback")
    release = sw.world.store.active_for("user")
    assert release.phase == Phase.WAITING
    started = {t.name for t in set(threading.enumerate()) - before}
    assert {"lock-keeper", "slack-messages-retry"} <= started and any(n.startswith("health-") for n in started)
    sw._server.shutdown()
    sw.bot.stop()
    sw.slack.stop()
    left = [t.name for t in set(threading.enumerate()) - before
            if t.is_alive() and "process_request_thread" not in t.name]      # the fake Slack's own handlers
    assert left == [], left
