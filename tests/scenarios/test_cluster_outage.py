"""Waves against failures: an unreachable prod cluster pauses only the release running there,
saying why, while a release of another app in staging completes, and the paused release goes
on by itself once prod answers again; a bot process killed (SIGKILL) during the prod wave is
followed by the next process, which finishes that wave from the state in Redis."""
from __future__ import annotations

import dataclasses

import pytest

from bot.domain.model import Phase, WaveState
from sandbox.slack import FakeSlack, block_action_body, slash_command_body
from tests.kit.clusters import at, slack_over_two, start_prod, two_cluster_world
from tests.kit.processes import CHANNEL, Bots
from tests.kit.slack import stop_slack_world
from tests.kit.wait import wait_until


@pytest.fixture
def prod(sandbox):
    cluster = start_prod(dataclasses.replace(sandbox.timing, ready_delay=1.5))   # slower: time to kill
    yield cluster
    cluster.stop()


@pytest.fixture
def sw(sandbox, prod, redis_client, tmp_path):
    world = slack_over_two(sandbox, prod, redis_client, tmp_path, kube_read_timeout=1.0)
    yield world
    stop_slack_world(world)


def test_an_unreachable_prod_pauses_only_the_release_in_it(sw, prod):
    store = sw.world.store
    sw.command("canary user-v2 --steps 50,100")
    at(store, "user", 0, 0)
    for stage in (1, 2):                       # to 100% in staging, then the wave approval
        sw.command("approve user")
        at(store, "user", *((0, 1) if stage == 1 else (1, 0)))
    sw.command("canary pay-v2 30%")            # pay runs in staging only
    at(store, "pay", 0, 0)
    stall = prod.hang("/")                     # prod's API server stops answering anything
    try:
        held = wait_until(lambda: (r := store.active_for("user")) and r.phase == Phase.PAUSED and r,
                          timeout=30, message="user paused for prod")
        assert held.reason.startswith("cluster prod is unreachable") and held.cluster == "prod"
        for stage in (1, 2):                   # 30% -> 50% -> 100%
            sw.command("approve pay")
            if stage < 2:
                at(store, "pay", 0, stage)
        done = wait_until(lambda: (h := store.history("pay")) and h[0].phase == Phase.SUCCEEDED and h[0],
                          timeout=40, message="pay succeeded in staging")
        assert sw.both.replicas("staging", "pay-v2") == 3
        assert store.active_for("user").phase == Phase.PAUSED
        roots = [m for m in sw.slack.channel(CHANNEL) if "thread_ts" not in m]
        user_root = next(m for m in roots if m["text"].startswith("user"))
        said = [m["text"] for m in sw.slack.thread(CHANNEL, user_root["ts"])]
        assert any(t.startswith("[prod]") and "cluster prod is unreachable" in t for t in said), said
        health = sw.http.request("GET", sw.url + "/healthz").json()
        assert health["unreachable_clusters"] == ["prod"] and health["ok"] is True
        metrics = sw.http.request("GET", sw.url + "/metrics").data.decode()
        assert 'graybot_cluster_reachable{cluster="prod"} 0.0' in metrics
        assert 'graybot_cluster_reachable{cluster="staging"} 1.0' in metrics
        assert done.phase == Phase.SUCCEEDED
    finally:
        stall.release()
    back = at(store, "user", 1, 0, timeout=30)         # prod answers: it goes on by itself
    assert back.reason == "" and sw.both.replicas("prod", "user-v2") == 5


@pytest.fixture
def bots(sandbox, prod, redis_client, redis_url, tmp_path):
    slack = FakeSlack().start()
    both = two_cluster_world(sandbox, prod, redis_client, tmp_path)
    b = Bots(both.world, slack, redis_url, tmp_path)
    b.both = both
    yield b
    b.stop_all()
    slack.stop()


def test_a_bot_killed_during_the_prod_wave_is_followed_by_the_next(bots):
    b, store = bots, bots.world.store
    b.start()
    b.post(slash_command_body("canary user-v2 --steps 50,100", "U0ALICE"))
    release = at(store, "user", 0, 0)
    for stage in (1, 2):
        value, ts = b.button(store.get(release.id), "approve")
        assert b.post(block_action_body("approve", value, "U0ALICE", CHANNEL, ts)).status == 200
        if stage == 1:
            at(store, "user", 0, 1)
    at(store, "user", 1, 0, Phase.PROGRESSING)       # prod's pods are starting (1.5 s to ready)
    b.kill()
    b.start()
    resumed = at(store, "user", 1, 0)
    assert b.both.ready("prod", "user-v2") == 5 and b.both.replicas("prod", "user-v1") == 5
    value, ts = b.button(resumed, "approve")
    assert b.post(block_action_body("approve", value, "U0ALICE", CHANNEL, ts)).status == 200
    done = wait_until(lambda: (h := store.history("user")) and h[0].phase == Phase.SUCCEEDED and h[0],
                      timeout=40, message="user succeeded in both")
    assert [w.state for w in done.waves] == [WaveState.DONE, WaveState.DONE]
    for cluster in ("staging", "prod"):
        wait_until(lambda: b.both.replicas(cluster, "user-v1") is None, message=f"user-v1 retired in {cluster}")


def test_a_wave_timer_that_finds_prod_down_pauses_and_goes_on_when_prod_answers(sw, prod):
    store = sw.world.store
    sw.command("canary user-v2 --steps 50,100 --wave-every 1s")
    at(store, "user", 0, 0)
    stall = prod.hang("/")                     # prod stops answering before its wave is due
    try:
        sw.command("approve user")             # staging to 100%: the wave gate, then the timer
        held = wait_until(lambda: (r := store.active_for("user")) and r.phase == Phase.PAUSED and r,
                          timeout=40, message="paused by the wave timer")
        assert held.wave == 0 and held.runtime.cluster_down == "prod" and "the prod wave cannot start" in held.reason
    finally:
        stall.release()
    moved = at(store, "user", 1, 0, timeout=40)       # prod answers: resumed, and the timer starts prod's wave
    assert moved.cluster == "prod" and all(e["actor"] in ("graybot", "scheduler")
                                           for e in store.audit(moved.id) if e["action"] in ("resume", "approve")
                                           and float(e["at"]) > float(held.updated_at))
