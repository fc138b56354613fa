"""Batch releases on timers: gray batch, batches every N seconds, manual, windows, --at,
pause freezing time, and rollback batch by batch."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from kubernetes import watch

from bot.domain.model import Phase
from bot.wiring import build_runner
from tests.kit.wait import wait_until
from tests.kit.world import NS, demo_world


@pytest.fixture
def bw(sandbox, kube, redis_client, tmp_path):
    w = demo_world(sandbox, kube, redis_client, tmp_path, leader_ttl=2)
    w.runner = build_runner(w.core, driver_period=0.2).start()
    wait_until(lambda: w.runner.leading and w.runner.timers is not None, message="leader")
    w.seen = []
    w.engine.listeners.append(lambda r, what, d: what in ("stage_healthy", "finished") and w.seen.append(
        (r.current.name, w.replicas(r.new_name), w.replicas(r.stable_name))))
    yield w
    w.runner.stop()


def timers_looked_after(w, moment: float) -> None:
    """Until the leader has re-derived every timer from the saved state after `moment`, and any
    job due by then has had its chance to run: the observable that the moment has passed."""
    wait_until(lambda: w.runner.timers.reconciled_at > moment and time.time() > moment,
               message="timers reconciled after the moment")


def waiting_at(w, stage: int, timeout=30):
    return wait_until(lambda: (r := w.store.active_for("user")) and r.phase == Phase.WAITING
                      and r.stage == stage and r, timeout=timeout, message=f"waiting at stage {stage}")


def test_gray_then_timed_batches_1_4_7_10(bw):
    r = bw.start("batch user-v2 --gray 1 --batches 3 --every 1s")
    assert [(s.name, s.new_replicas, s.old_replicas) for s in r.stages] == [
        ("gray", 1, 9), ("batch 1/3", 4, 6), ("batch 2/3", 7, 3), ("batch 3/3", 10, 0)]
    gray = waiting_at(bw, 0)
    timers_looked_after(bw, gray.updated_at + 1.5)       # past when --every 1s would have fired
    assert bw.store.get(r.id).stage == 0 and gray.runtime.next_at is None      # a human checks the gray
    assert bw.runner.timers.aps.get_job(f"advance:{r.id}") is None
    bw.act("approve user", actor="U_OPS")
    done = wait_until(lambda: bw.store.history("user") and bw.store.history("user")[0], timeout=40)
    assert done.phase == Phase.SUCCEEDED
    wait_until(lambda: len(bw.seen) == 4)          # listeners hear of a change after it is saved
    assert bw.seen == [("gray", 1, 9), ("batch 1/3", 4, 6), ("batch 2/3", 7, 3), ("batch 3/3", 10, None)]
    approvals = [e["actor"] for e in bw.store.audit(r.id) if e["action"] == "approve"]
    assert approvals == ["U_OPS", "scheduler", "scheduler"]
    assert bw.pods_by_image("user") == {"nginx:user-v2": 10}


def test_manual_batches_wait_for_clicks(bw):
    r = bw.start("batch user-v2 --batches 2 --manual")
    waiting_at(bw, 0)
    bw.act("approve user")
    first = waiting_at(bw, 1)
    timers_looked_after(bw, first.updated_at + 1.5)
    assert bw.store.get(r.id).stage == 1 and first.runtime.next_at is None
    assert bw.runner.timers.aps.get_jobs() == []


def test_window_holds_a_batch_due_outside_it(bw):
    now = datetime.now(timezone.utc)
    opens = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    window = f"{opens:%H:%M}-{opens + timedelta(hours=1):%H:%M}"
    r = bw.start(f"batch user-v2 --batches 3 --every 1s --window {window} --tz UTC")
    waiting_at(bw, 0)
    scheduled = bw.act("approve user")                 # the gray batch is approved; batch 1 waits for the window
    assert (scheduled.phase, scheduled.stage, scheduled.last_action) == (Phase.WAITING, 0, "schedule")
    assert scheduled.runtime.next_at == pytest.approx(opens.timestamp(), abs=1) and bw.replicas("user-v2") == 1
    bw.act("approve user --now")                       # a person who wants it now says so
    held = waiting_at(bw, 1)
    assert held.runtime.next_at == pytest.approx(opens.timestamp(), abs=1)
    job = wait_until(lambda: bw.runner.timers.aps.get_job(f"advance:{r.id}"))
    assert job.next_run_time.timestamp() == pytest.approx(opens.timestamp(), abs=1)
    timers_looked_after(bw, held.updated_at + 1.5)       # past when --every 1s alone would fire
    assert bw.store.get(r.id).stage == 1
    assert bw.runner.timers.aps.get_job(f"advance:{r.id}").next_run_time.timestamp() == \
        pytest.approx(opens.timestamp(), abs=1)


def test_at_schedules_the_first_batch_once_the_gray_is_approved(bw, redis_client):
    now = datetime.now(timezone.utc)
    at = (now + timedelta(hours=3)).replace(second=0, microsecond=0)
    r = bw.start(f"batch user-v2 --at {at:%H:%M} --tz UTC --every 10m")
    waiting_at(bw, 0)                                        # the gray batch goes out now
    assert bw.replicas("user-v2") == 1
    scheduled = bw.act("approve user", actor="U_OPS")
    assert (scheduled.phase, scheduled.stage, scheduled.last_action) == (Phase.WAITING, 0, "schedule")
    assert scheduled.runtime.next_at == pytest.approx(at.timestamp(), abs=1)
    wait_until(lambda: redis_client.hexists("graybot:aps:jobs", f"advance:{r.id}"))   # in Redis
    assert bw.replicas("user-v2") == 1


def test_pause_removes_the_timer_and_resume_rearms_it_from_now(bw):
    r = bw.start("batch user-v2 --batches 3 --every 30s")
    waiting_at(bw, 0)
    bw.act("approve user")
    armed = waiting_at(bw, 1)
    wait_until(lambda: bw.runner.timers.aps.get_job(f"advance:{r.id}"))
    paused = bw.act("pause user")
    assert paused.runtime.next_at is None
    wait_until(lambda: bw.runner.timers.aps.get_job(f"advance:{r.id}") is None)
    time.sleep(1.0)
    before = time.time()
    resumed = bw.act("resume user")
    assert resumed.runtime.next_at >= before + 30 > armed.runtime.next_at
    job = wait_until(lambda: bw.runner.timers.aps.get_job(f"advance:{r.id}"))
    assert job.args == (r.id, resumed.version) or list(job.args) == [r.id, resumed.version]


def watch_deployments(w, stop: threading.Event, events: list):
    rv = w.apps.list_namespaced_deployment(NS).metadata.resource_version
    for ev in watch.Watch().stream(w.apps.list_namespaced_deployment, NS, resource_version=rv,
                                   timeout_seconds=40):
        d = ev["object"]
        events.append((d.metadata.name, ev["type"], d.spec.replicas, d.status.ready_replicas or 0))
        if stop.is_set():
            return


def rollback_from_batch_two(bw, command: str) -> tuple:
    """Reach batch 2 (7 new / 3 old), pause, then roll back while watching every Deployment event."""
    bw.start("batch user-v2 --gray 1 --batches 3 --every 1s")
    waiting_at(bw, 0)
    bw.act("approve user")
    waiting_at(bw, 2)
    ready = {"user-v1": bw.ready("user-v1"), "user-v2": bw.ready("user-v2")}
    bw.act("pause user")
    events, stop = [], threading.Event()
    watcher = threading.Thread(target=watch_deployments, args=(bw, stop, events))
    watcher.start()
    time.sleep(0.3)
    bw.act(command)
    done = wait_until(lambda: bw.store.history("user") and bw.store.history("user")[0], timeout=40)
    stop.set()
    bw.apps.patch_namespaced_deployment("user-v1", NS, {"metadata": {"labels": {"poke": "1"}}})
    watcher.join(10)
    return done, events, ready


def changes(values: list) -> list:
    return [n for i, n in enumerate(values) if i == 0 or n != values[i - 1]]


def test_rollback_batches_walks_back_batch_by_batch(bw):
    done, events, _ = rollback_from_batch_two(bw, "rollback user --batches")
    assert done.phase == Phase.ROLLED_BACK
    assert changes([spec for name, kind, spec, _ in events if name == "user-v2" and kind == "MODIFIED"]) == [4, 1, 0]
    assert changes([spec for name, kind, spec, _ in events if name == "user-v1"]) == [6, 9, 10]


def test_plain_rollback_never_drops_ready_capacity(bw):
    done, events, ready = rollback_from_batch_two(bw, "rollback user")
    assert sum(ready.values()) == 10 and done.phase == Phase.ROLLED_BACK
    for name, kind, _spec, ready_now in events:
        ready[name] = 0 if kind == "DELETED" else ready_now
        assert sum(ready.values()) >= 10, events
