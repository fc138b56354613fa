"""Who may do what (bot.core.policy), platform-neutral: channels, approvers by user and by group,
the second-person rule, and the guard verbs open to the requester; and the Slack way of naming."""
from __future__ import annotations

import pytest

from bot.core.policy import Policy
from bot.domain.apps import AppSpec
from handlers.access import SlackMentions
from tests.kit.releases import release

GROUPS = {"S0LEADS": frozenset({"U0CAROL"})}
APP = AppSpec(name="user", channels=("C0REL",), approvers=("U0BOB", "S0LEADS"), image="x:{version}")


def policy(mentions=None) -> Policy:
    return Policy(lambda g: GROUPS.get(g, frozenset()), mentions, is_group=GROUPS.__contains__)


def test_outside_the_apps_channels_nothing_is_allowed():
    assert policy().refusal("approve", APP, "U0BOB", "C0OTHER") == "user can be released only from C0REL."
    assert policy().channel_refusal(APP, "C0REL") is None


@pytest.mark.parametrize("user,allowed", [("U0BOB", True), ("U0CAROL", True), ("U0EVE", False)])
def test_approvers_by_user_id_or_by_group(user, allowed):
    assert (policy().refusal("approve", APP, user, "C0REL") is None) is allowed
    assert (policy().refusal("continue", APP, user, "C0REL") is None) is allowed


def test_an_app_without_approvers_lets_anyone_in_its_channel_approve():
    open_app = AppSpec(name="pay", image="x:{version}")
    assert policy().refusal("approve", open_app, "U0ANYONE", "C0ANY") is None


def test_the_requester_cannot_approve_when_a_second_person_is_required():
    strict = AppSpec(name="user", approvers=("U0BOB",), requester_can_approve=False, image="x:{version}")
    mine = release(requested_by="U0BOB")
    assert "needs a second person" in policy().refusal("approve", strict, "U0BOB", "C0", mine)
    assert policy().refusal("approve", strict, "U0BOB", "C0", release(requested_by="U0ALICE")) is None


@pytest.mark.parametrize("verb", ["pause", "resume", "rollback"])
def test_guard_verbs_are_open_to_approvers_and_the_requester_only(verb):
    mine = release(requested_by="U0DAN")
    assert policy().refusal(verb, APP, "U0DAN", "C0REL", mine) is None
    assert policy().refusal(verb, APP, "U0CAROL", "C0REL", mine) is None
    assert policy().refusal(verb, APP, "U0EVE", "C0REL", mine) == \
        f"U0EVE may not {verb} user: only its approvers or the requester can."


def test_refusals_name_people_the_way_the_chat_platform_writes_them():
    text = policy(SlackMentions()).refusal("approve", APP, "U0EVE", "C0REL")
    assert text == "<@U0EVE> is not an approver of user; ask one of <@U0BOB>, <!subteam^S0LEADS>."
    assert policy(SlackMentions()).channel_refusal(APP, "C0X") == "user can be released only from <#C0REL>."
