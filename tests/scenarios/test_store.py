"""Release state in a real Redis: compare-and-set, one active release per app, audit, history."""
from __future__ import annotations

import pytest
import redis

from bot.adapters.replicas import Replicas
from bot.adapters.store import AppBusy, StaleState, Store
from bot.domain.machine import transition
from bot.domain.model import Event, Phase
from tests.kit.releases import release
from tests.kit.replica import master_with_replica


def test_create_claims_the_app_and_a_second_release_is_refused(redis_client):
    store = Store(redis_client)
    first = store.create(release(), "U1")
    with pytest.raises(AppBusy) as err:
        store.create(release().replace(id="user-2"), "U2")
    assert err.value.current.id == first.id
    assert redis_client.get("graybot:active:user") == "user-1"
    assert store.get("user-2") is None and [r.id for r in store.active()] == ["user-1"]


def test_compare_and_set_refuses_a_stale_version(redis_client):
    store = Store(redis_client)
    r0 = store.create(release(), "U1")
    r1 = store.save(transition(r0, Event.START, "U1"), 0, "U1", "start")
    with pytest.raises(StaleState) as err:
        store.save(transition(r0, Event.ROLLBACK, "U2"), 0, "U2", "rollback")
    assert err.value.current.version == 1 and err.value.current.last_actor == "U1"
    assert store.get(r0.id) == r1


def test_audit_stream_records_actor_action_and_phases(redis_client):
    store = Store(redis_client)
    r0 = store.create(release(), "U1", detail="canary user-v2")
    store.save(transition(r0, Event.START, "U1"), 0, "U1", "start")
    store.record(r0.id, "U9", "refused", "not an approver")
    entries = store.audit(r0.id)
    assert [(e["actor"], e["action"], e["before"], e["after"]) for e in entries] == [
        ("U1", "create", "", "pending"), ("U1", "start", "pending", "progressing"),
        ("U9", "refused", "", "")]
    assert entries[2]["detail"] == "not an approver" and float(entries[0]["at"]) > 0


def test_finishing_frees_the_app_and_lands_in_history(redis_client):
    store = Store(redis_client)
    r = store.create(release(), "U1")
    r = store.save(transition(r, Event.ROLLBACK, "U1"), 0, "U1", "rollback")
    done = store.save(transition(r, Event.ROLLBACK_DONE, "graybot"), 1, "graybot", "rollback_done")
    assert done.phase == Phase.ROLLED_BACK
    assert store.active_for("user") is None and store.active() == []
    assert [h.id for h in store.history("user")] == ["user-1"]
    store.create(release().replace(id="user-2"), "U2")     # the app is free again
    assert store.active_for("user").id == "user-2"


def test_a_decisive_write_waits_for_a_replica_where_there_is_one(tmp_path, caplog):
    """A rollback saved on a master with a replica is on the replica when the save returns; with
    the replica stopped, the save still returns (250 ms) and says no replica acknowledged it."""
    with master_with_replica(tmp_path) as pair:
        store = Store(pair.master)
        r0 = store.create(release(), "U1")
        started = store.save(transition(r0, Event.START, "U1"), 0, "U1", "start")
        caplog.set_level("WARNING", logger="graybot.store")
        stopped = store.save(transition(started, Event.ROLLBACK, "U2"), 1, "U2", "rollback")
        assert '"phase": "rolling_back"' in pair.replica.get("graybot:release:user-1") and not caplog.records
        pair.freeze_replica()
        store.save(transition(stopped, Event.ROLLBACK_DONE, "graybot"), 2, "graybot", "rollback_done")
        assert "no replica acknowledged the rollback_done of user-1" in caplog.text


def test_a_write_made_on_another_connection_is_waited_for_too(tmp_path, caplog):
    """WAIT counts only its own connection's writes: threads share a pool, so the connection that
    confirms may not be the one that wrote. Here the confirming client wrote earlier (replicated),
    the replica then stops, and another client writes: the confirmation must not say it is on the
    replica (it said so at once, from the older write, before)."""
    with master_with_replica(tmp_path) as pair:
        confirmer = redis.Redis.from_url(pair.master_url, decode_responses=True, single_connection_client=True)
        replicas = Replicas(confirmer)
        confirmer.set("earlier", "1")
        assert replicas.confirm("the earlier write")
        pair.freeze_replica()
        pair.master.set("graybot:release:user-1", "rolled back")
        caplog.set_level("WARNING", logger="graybot.store")
        assert not replicas.confirm("the rollback of user-1")
        assert "no replica acknowledged the rollback of user-1" in caplog.text
