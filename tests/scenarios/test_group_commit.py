"""The ack path's group commit (bot/adapters/groupcommit.py) on a real Redis: requests accepted at
the same moment are written together, each once, each answered with its own entry (or its own
refusal); Redis losing the script costs nothing; where there is a replica, each entry is on it
when its caller returns."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from bot.adapters import keys
from bot.adapters.edgestate import EdgeState, FirstSight, Replayed, StoreUnavailable, ack_client
from tests.kit.replica import master_with_replica

WORKER = "host:1"


def request(n: int) -> dict:
    return {"kind": "command", "what": f"/release status app{n}", "user": f"U{n:03d}"}


def accept_at_once(state: EdgeState, requests: list[tuple[dict, FirstSight | None]]) -> list:
    """Each request accepted by a thread of its own, all released at once; each one's entry id or
    the exception it met, in order."""
    start = threading.Barrier(len(requests))

    def one(item: tuple[dict, FirstSight | None]):
        start.wait()
        try:
            return state.inbox_hand_off(item[0], WORKER, item[1])
        except (Replayed, StoreUnavailable) as exc:
            return exc
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(one, requests))


def writers(conn: redis.Redis, before: set[str]) -> int:
    """Connections opened since `before` (the ids then) whose last command was a script run: one
    each request, without group commit. (Earlier tests' connections to this Redis stay open.)"""
    return sum(1 for c in conn.client_list() if c["cmd"] == "evalsha" and c["id"] not in before)


def test_fifty_requests_accepted_while_redis_holds_writes_are_each_written_once_on_one_connection(redis_client):
    state = EdgeState(redis_client, ack=ack_client(redis_client))
    before = {c["id"] for c in redis_client.client_list()}
    redis_client.client_pause(150, all=False)       # writes wait: the callers pile up behind the first
    ids = accept_at_once(state, [(request(n), None) for n in range(50)])
    assert all(isinstance(i, str) for i in ids) and len(set(ids)) == 50
    written = {entry_id: fields["request"] for entry_id, fields in redis_client.xrange(keys.inbox())}
    assert len(written) == 50
    for n, entry_id in enumerate(ids):           # each caller got its own entry, not another's
        assert f"app{n}" in written[entry_id]
    queued = redis_client.lrange(keys.inbox_ready(WORKER), 0, -1)
    assert sorted(q.partition("\n")[0] for q in queued) == sorted(ids)
    assert writers(redis_client, before) <= 2, redis_client.client_list()


def test_a_replay_inside_a_batch_is_refused_alone(redis_client):
    state = EdgeState(redis_client, ack=ack_client(redis_client))
    redis_client.client_pause(150, all=False)
    same = FirstSight("v0=replayed-signature", 300)
    got = accept_at_once(state, [(request(1), same), (request(2), FirstSight("v0=other", 300)), (request(3), same)])
    assert sum(isinstance(g, Replayed) for g in got) == 1 and isinstance(got[1], str)
    assert redis_client.xlen(keys.inbox()) == 2


def test_a_redis_out_of_memory_refuses_every_caller_and_writes_nothing(redis_client):
    state = EdgeState(redis_client, ack=ack_client(redis_client))
    redis_client.config_set("maxmemory-policy", "noeviction")
    redis_client.config_set("maxmemory", "1")
    try:
        got = accept_at_once(state, [(request(n), FirstSight(f"v0=s{n}", 300)) for n in range(8)])
    finally:
        redis_client.config_set("maxmemory", "0")
    assert all(isinstance(g, StoreUnavailable) and g.refusing == "out of memory" for g in got), got
    assert redis_client.xlen(keys.inbox()) == 0 and not redis_client.keys(keys.seen("*"))


def test_a_script_redis_forgot_is_loaded_again_and_each_entry_written_once(redis_client):
    state = EdgeState(redis_client, ack=ack_client(redis_client))
    state.inbox_hand_off(request(0), WORKER)
    redis_client.script_flush()                  # a restart, a failover: the script is gone
    ids = accept_at_once(state, [(request(n), None) for n in range(1, 11)])
    assert all(isinstance(i, str) for i in ids)
    assert redis_client.xlen(keys.inbox()) == 11


def test_each_entry_is_on_the_replica_when_its_caller_returns(tmp_path, caplog):
    with master_with_replica(tmp_path) as pair:
        state = EdgeState(pair.master, ack=ack_client(pair.master))
        caplog.set_level("WARNING", logger="graybot.store")
        entry = state.inbox_hand_off(request(1), WORKER)
        assert [i for i, _ in pair.replica.xrange(keys.inbox())] == [entry] and not caplog.records
        pair.freeze_replica()                   # a replica that does not answer: the ack goes on
        state.inbox_hand_off(request(2), WORKER)
        assert "no replica acknowledged 1 inbox entries" in caplog.text
        assert pair.master.xlen(keys.inbox()) == 2


@pytest.fixture(autouse=True)
def _no_pause_left(redis_client):
    yield
    redis_client.client_unpause()
