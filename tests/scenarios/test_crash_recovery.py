"""`graybot serve` as real processes, killed with SIGKILL at chosen moments: an acked Rollback is
carried out every time, by the next process, and a killed process's locks and leadership do not
keep the next click waiting (default TTLs: leader 5 s, app lock 6 s)."""
from __future__ import annotations

import time

import pytest

from bot.domain.model import Phase
from sandbox.slack import FakeSlack, block_action_body, slash_command_body
from tests.kit.processes import CHANNEL, Bots
from tests.kit.wait import wait_until
from tests.kit.world import demo_world


@pytest.fixture
def bots(sandbox, kube, redis_client, redis_url, tmp_path):
    slack = FakeSlack().start()
    world = demo_world(sandbox, kube, redis_client, tmp_path)
    b = Bots(world, slack, redis_url, tmp_path)
    yield b
    b.stop_all()
    slack.stop()


def waiting_release(b: Bots):
    return wait_until(lambda: (r := b.world.store.active_for("user")) and r.phase == Phase.WAITING and r,
                      timeout=30, message="user waiting")


def test_an_acked_rollback_survives_a_kill_at_any_moment(bots):
    b = bots
    b.start()
    recovery = []
    for delay in (0.0, 0.05, 0.2, 0.5):
        assert b.post(slash_command_body("canary user-v2 10%", "U0ALICE")).status == 200
        value, ts = b.button(waiting_release(b), "rollback")
        acked = b.post(block_action_body("rollback", value, "U0ALICE", CHANNEL, ts))
        assert acked.status == 200                       # Slack was told: the click is ours now
        time.sleep(delay)                                # the moment chosen for the kill
        b.kill()
        killed = time.monotonic()
        b.start()
        done = wait_until(lambda: (h := b.world.store.history("user")) and h[0].phase == Phase.ROLLED_BACK
                          and b.world.store.active_for("user") is None and h[0], timeout=40,
                          message=f"rolled back after a kill at {delay * 1000:.0f} ms")
        recovery.append(time.monotonic() - killed)
        assert done.last_actor in ("graybot", "U0ALICE")
        assert b.world.replicas("user-v1") == 10 and b.world.kube.deployment("default", "user-v2") is None
    print(f"kill -> rolled back: {', '.join(f'{s:.1f}s' for s in recovery)}")


def test_after_a_kill_the_next_click_moves_the_release_within_10_seconds(bots):
    b = bots
    b.start()
    b.post(slash_command_body("canary user-v2 10%", "U0ALICE"))
    release = waiting_release(b)
    b.kill()
    killed = time.monotonic()
    b.start()
    value, ts = b.button(release, "approve")
    assert b.post(block_action_body("approve", value, "U0ALICE", CHANNEL, ts)).status == 200
    moved = wait_until(lambda: (r := b.world.store.get(release.id)) and r.stage == 1 and r.phase == Phase.WAITING
                       and r, timeout=30, message="stage 2 reached")
    elapsed = time.monotonic() - killed
    assert moved.stage == 1 and elapsed < 10, f"{elapsed:.1f}s from the kill to the next stage"


def test_sigterm_under_load_loses_no_acked_request(bots):
    """Requests keep coming while the bot is told to stop: every one that was acked is either
    answered before the process exits or carried out (and said so) by the next process."""
    import signal
    import threading

    b = bots
    first = b.start()
    users = [f"U0L{i:03d}" for i in range(40)]
    acked: list[str] = []

    def send(user: str) -> None:
        try:
            if b.post(slash_command_body("status user", user)).status == 200:
                acked.append(user)
        except Exception:       # refused or reset while stopping: never acked, nothing owed
            pass
    threads = [threading.Thread(target=send, args=(u,)) for u in users]
    for i, thread in enumerate(threads):
        thread.start()
        if i == len(threads) // 2:
            first.send_signal(signal.SIGTERM)       # mid-load
        time.sleep(0.01)
    for thread in threads:
        thread.join(10)
    assert first.wait(20) == 0
    assert acked, "some requests must have been acked before the stop"
    b.start()                                        # the next process carries out what is left
    answered = wait_until(lambda: all(b.slack.ephemerals(u) for u in acked) and acked, timeout=30,
                          message="every acked request answered")
    assert set(answered) <= set(users)
    assert not [e for _, e in b.world.core.edge_state.inbox_stale(-1)]


def test_an_approval_cut_by_a_kill_shows_the_next_approve_button_within_10_seconds_of_the_restart(bots):
    """The process acked an Approve and was SIGKILLed before carrying it out: the next process
    carries it out at its start and drives the stage itself (it need not wait to become leader),
    so the person sees the next Approve button soon after the restart."""
    import json

    b = bots
    b.start()
    b.post(slash_command_body("canary user-v2 10%", "U0ALICE"))
    release = waiting_release(b)
    value, ts = b.button(release, "approve")
    b.kill()
    b.world.core.edge_state.inbox_add({"kind": "action", "what": "approve button", "user": "U0ALICE",
                                       "channel": CHANNEL, "action_id": "approve", "value": value,
                                       "message_ts": ts, "owner": "killed-host:1"})   # acked, never carried out
    restarted = time.monotonic()
    b.start()

    def next_approve_shown() -> bool:
        message = next((m for m in b.slack.channel(CHANNEL) if m["ts"] == ts), {})
        return any(e.get("action_id") == "approve" and json.loads(e["value"])["s"] == 1
                   for block in message.get("blocks") or [] for e in block.get("elements") or [])
    wait_until(next_approve_shown, timeout=30, message="the Approve button of the next stage")
    elapsed = time.monotonic() - restarted
    print(f"restart -> next Approve shown: {elapsed:.1f}s")
    assert b.world.store.get(release.id).stage == 1 and elapsed < 10, f"{elapsed:.1f}s after the restart"
