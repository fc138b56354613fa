"""The leader lock against a real Redis: a leader whose lock's key is gone (a failover promoted a
replica without it) takes it again and keeps its duties running; when someone else holds it, the
leader steps down."""
from __future__ import annotations

from bot.adapters import keys
from bot.runtime.leadership import Leadership


def leader(redis_client, events: list[str]) -> Leadership:
    lead = Leadership(redis_client, lambda: events.append("elected"), lambda: events.append("lost"))
    lead.step()
    assert lead.leading and events == ["elected"]
    return lead


def test_a_leader_whose_lock_key_is_gone_takes_it_again_and_keeps_its_duties(redis_client):
    events: list[str] = []
    lead = leader(redis_client, events)
    redis_client.delete(keys.leader())                  # what a promoted replica without the key shows
    lead.step()
    assert lead.leading and events == ["elected"]       # neither stopped nor started again
    assert redis_client.get(keys.leader()) and redis_client.get(keys.leader_owner()) == lead.identity


def test_a_leader_whose_lock_another_process_holds_steps_down(redis_client):
    events: list[str] = []
    lead = leader(redis_client, events)
    redis_client.set(keys.leader(), "someone-else", px=15_000)
    lead.step()
    assert not lead.leading and events == ["elected", "lost"]
    assert redis_client.get(keys.leader()) == "someone-else"
