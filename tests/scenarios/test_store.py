"""Release state in a real Redis: compare-and-set, one active release per app, audit, history."""
from __future__ import annotations

import pytest

from bot.domain.machine import transition
from bot.domain.model import Event, Phase
from bot.adapters.store import AppBusy, StaleState, Store
from tests.kit.releases import release


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
