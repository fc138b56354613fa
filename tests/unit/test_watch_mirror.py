"""The watches' mirror answers a read only when it cannot be older than a GET would be for
graybot: while its place is watched, and never before graybot's own last write came back."""
from __future__ import annotations

from bot.adapters.mirror import Mirror


def deploy(name: str, rv: str, replicas: int = 1) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}, "spec": {"replicas": replicas}}


def test_unwatched_places_and_other_resources_are_never_answered():
    m = Mirror()
    assert m.get("deployments", "ns", "a") == (False, None)
    m.listed("pods", "ns", [deploy("a", "1")])
    assert m.get("pods", "ns", "a") == (False, None)          # pods are watched, not kept


def test_a_listed_place_answers_objects_and_absence_and_follows_events():
    m = Mirror()
    m.listed("deployments", "ns", [deploy("a", "1")])
    assert m.get("deployments", "ns", "a") == (True, deploy("a", "1"))
    assert m.get("deployments", "ns", "b") == (True, None)    # known absent: no GET needed
    m.event("deployments", "ns", "MODIFIED", deploy("a", "2", replicas=3))
    assert m.get("deployments", "ns", "a")[1]["spec"]["replicas"] == 3
    m.event("deployments", "ns", "DELETED", deploy("a", "3"))
    assert m.get("deployments", "ns", "a") == (True, None)


def test_the_answer_is_a_copy():
    m = Mirror()
    m.listed("deployments", "ns", [deploy("a", "1")])
    m.get("deployments", "ns", "a")[1]["spec"]["replicas"] = 99
    assert m.get("deployments", "ns", "a")[1]["spec"]["replicas"] == 1


def test_graybots_own_write_is_read_from_the_api_until_the_watch_shows_it():
    m = Mirror()
    m.listed("deployments", "ns", [deploy("a", "1")])
    m.wrote("deployments", "ns", "a", deploy("a", "5"))
    assert m.get("deployments", "ns", "a") == (False, None)
    m.event("deployments", "ns", "MODIFIED", deploy("a", "4"))          # someone's earlier change
    assert m.get("deployments", "ns", "a") == (False, None)
    m.event("deployments", "ns", "MODIFIED", deploy("a", "5", replicas=2))
    assert m.get("deployments", "ns", "a") == (True, deploy("a", "5", replicas=2))


def test_a_write_the_watch_already_showed_is_not_awaited():
    m = Mirror()
    m.listed("deployments", "ns", [deploy("a", "1")])
    m.event("deployments", "ns", "MODIFIED", deploy("a", "5"))          # the watch was quicker than the writer
    m.wrote("deployments", "ns", "a", deploy("a", "5"))
    assert m.get("deployments", "ns", "a")[0] is True


def test_a_delete_is_awaited_and_a_lost_watch_answers_nothing_until_listed_again():
    m = Mirror()
    m.listed("deployments", "ns", [deploy("a", "1")])
    m.deleted("deployments", "ns", "a")
    assert m.get("deployments", "ns", "a") == (False, None)
    m.event("deployments", "ns", "DELETED", deploy("a", "2"))
    assert m.get("deployments", "ns", "a") == (True, None)
    m.lost("deployments", "ns")
    assert m.get("deployments", "ns", "b") == (False, None)
    m.event("deployments", "ns", "ADDED", deploy("b", "3"))              # not listed: not kept
    assert m.get("deployments", "ns", "b") == (False, None)
    m.listed("deployments", "ns", [deploy("b", "3")])
    assert m.get("deployments", "ns", "b") == (True, deploy("b", "3"))


def test_a_write_the_watch_showed_and_moved_past_is_not_awaited():
    m = Mirror()
    m.listed("deployments", "ns", [deploy("a", "1")])
    m.event("deployments", "ns", "MODIFIED", deploy("a", "5"))          # graybot's write ...
    m.event("deployments", "ns", "MODIFIED", deploy("a", "6"))          # ... and the controller's status after it
    m.wrote("deployments", "ns", "a", deploy("a", "5"))                 # before the writer's thread got here
    assert m.get("deployments", "ns", "a") == (True, deploy("a", "6"))
