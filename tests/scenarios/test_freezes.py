"""Release policy against real Redis and the sandbox: deny windows, freezes by command, the
emergency stop."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import yaml
from kubernetes import client

from bot.config import load_registry
from bot.core.service import run_text
from bot.domain.model import Phase
from bot.language.text import when
from bot.wiring import build_runner
from sandbox.seed import apps_yaml, deployment, service
from tests.kit.wait import wait_until
from tests.kit.world import NS, demo_world


def frozen_today() -> tuple[dict, float]:
    """apps.yaml with a deny window covering today (UTC), and when it ends."""
    today = datetime.now(timezone.utc).date()
    doc = apps_yaml()
    doc["policy"] = {"deny": [f"{today}..{today}"]}
    end = datetime(today.year, today.month, today.day, tzinfo=timezone.utc) + timedelta(days=1)
    return doc, end.timestamp()


@pytest.fixture
def pw(sandbox, kube, redis_client, tmp_path):
    w = demo_world(sandbox, kube, redis_client, tmp_path, leader_ttl=2)
    w.runner = build_runner(w.core, driver_period=0.2).start()
    wait_until(lambda: w.runner.leading and w.runner.timers is not None, message="leader")
    yield w
    w.runner.stop()


def test_a_release_started_in_a_deny_window_is_refused_with_its_end(sandbox, kube, redis_client, tmp_path):
    doc, end = frozen_today()
    w = demo_world(sandbox, kube, redis_client, tmp_path, doc)
    reply = run_text(w.engine, "canary user-v2 10%", "U_ALICE")
    assert not reply.ok and f"frozen until {when(end)}" in reply.text and "deny window" in reply.text
    assert w.store.active_for("user") is None and w.kube.deployment(NS, "user-v2") is None
    status = run_text(w.engine, "status user", "U_ALICE")
    assert f"frozen: user until {when(end)}" in status.text
    assert run_text(w.engine, "plan canary user-v2 10%", "U_ALICE").ok      # planning is still fine


def test_a_freeze_by_command_refuses_new_releases_until_unfrozen(world):
    w = world
    reply = run_text(w.engine, 'freeze user for 1h "payments incident"', "U_LEAD")
    assert reply.ok and "user frozen until" in reply.text
    assert "frozen: user until" in run_text(w.engine, "list", "U_X").text
    refused = run_text(w.engine, "canary user-v2 10%", "U_ALICE")
    assert not refused.ok and "frozen by U_LEAD (payments incident)" in refused.text
    assert run_text(w.engine, "canary pay-v2 10%", "U_ALICE").ok               # only user is frozen
    assert run_text(w.engine, "unfreeze user", "U_LEAD").ok
    assert run_text(w.engine, "canary user-v2 10%", "U_ALICE").ok


def test_a_timed_batch_due_inside_a_freeze_waits_for_its_end(pw):
    w = pw
    r = w.start("batch user-v2 --gray 1 --batches 3 --every 1s")
    wait_until(lambda: (x := w.store.get(r.id)).phase == Phase.WAITING and x.stage == 0)
    assert run_text(w.engine, 'freeze user for 4s "hold"', "U_LEAD").ok
    frozen_until = w.store.freezes()["user"]["until"]
    w.act("approve user")                                   # people may still approve the gray batch
    held = wait_until(lambda: (x := w.store.get(r.id)).stage == 1 and x.phase == Phase.WAITING
                      and (x.runtime.next_at or 0) >= frozen_until and x, timeout=20,
                      message="the timer re-armed to the freeze's end")
    assert held.stage == 1 and "frozen" in held.last_action + held.reason
    moved = wait_until(lambda: (x := w.store.get(r.id)).stage >= 2 and x, timeout=30, message="after the freeze")
    assert moved.updated_at >= frozen_until - 0.5


def test_stop_all_pauses_every_running_release_with_a_reply_each(world, kube):
    w = world
    client.AppsV1Api(kube).create_namespaced_deployment(NS, deployment("web", "v1", 2))
    client.CoreV1Api(kube).create_namespaced_service(NS, service("web"))
    w.config_path.write_text(yaml.safe_dump(apps_yaml(apps={"user": 10, "pay": 3, "web": 2})))
    w.core.registry.update(load_registry(str(w.config_path)))      # a third app, as a reload would
    wait_until(lambda: w.ready("web-v1") == 2)
    ids = [w.engine.settle(w.start(f"canary {app}-v2 50%").id).id for app in ("user", "pay", "web")]
    heard = []
    w.engine.listeners.append(lambda r, what, detail: what == "pause" and heard.append((r.app, detail)))
    reply = run_text(w.engine, 'stop-all "incident 7"', "U_LEAD")
    assert reply.ok and "paused 3" in reply.text
    assert [w.store.get(i).phase for i in ids] == [Phase.PAUSED] * 3
    assert sorted(heard) == [("pay", "stop-all: incident 7"), ("user", "stop-all: incident 7"),
                             ("web", "stop-all: incident 7")]
    again = run_text(w.engine, "stop-all", "U_LEAD")
    assert "paused 0" in again.text
