"""The command language (docs/usage.md)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from bot.language.grammar import ActionCommand, Match, QueryCommand, StartCommand, UsageError, parse

APPS = ["user", "pay", "pay-service"]


def test_canary_first_weight_then_default_steps():
    cmd = parse("canary user-v2 10%", APPS)
    assert cmd == StartCommand(strategy="canary", app="user", version="v2", steps=(10, 30, 50, 100))
    assert parse("canary user-v2 40%", APPS).steps == (40, 50, 100)
    assert parse("canary user-v2 --steps 5,20,100", APPS).steps == (5, 20, 100)
    assert parse("canary user-v2 --steps 5,20", APPS).steps == (5, 20, 100)


def test_app_version_splits_at_the_longest_registered_name():
    cmd = parse("canary pay-service-v2", APPS)
    assert (cmd.app, cmd.version) == ("pay-service", "v2")
    assert parse("canary pay-v2.1", APPS).app == "pay"


def test_every_strategy_and_its_options():
    assert parse("ab user-v2 header:role=test --router nginx", APPS).match == Match("header", "role", "test")
    assert parse("ab user-v2 cookie:vip_user", APPS).match == Match("cookie", "vip_user")
    assert parse("bluegreen user-v2", APPS).strategy == "bluegreen"
    rolling = parse("rolling user-v2 --max-surge 1 --max-unavailable 0", APPS)
    assert (rolling.max_surge, rolling.max_unavailable) == ("1", "0")
    assert parse("recreate user-v2", APPS).strategy == "recreate"
    batch = parse("batch user-v2 --gray 2 --batches 4 --every 10m --at 02:00 --window 00:00-06:00 "
                  "--tz Asia/Shanghai", APPS)
    assert (batch.gray, batch.batches, batch.every, batch.at, batch.window, batch.tz) == (
        2, 4, 600, "02:00", "00:00-06:00", "Asia/Shanghai")
    assert parse("canary user-v2 --auto 1h30m --bake 30s", APPS).auto == 5400


def test_plan_verbs_queries_and_aliases():
    assert parse("plan canary user-v2 10%", APPS).dry_run is True
    assert parse("approve user --full", APPS) == ActionCommand("approve", "user", full=True)
    assert parse("promote user", APPS) == ActionCommand("approve", "user")
    assert parse("abort pay", APPS) == ActionCommand("rollback", "pay")
    assert parse("rollback user --batches", APPS).batches is True
    assert parse("status", APPS) == QueryCommand("status")
    assert parse("history pay", APPS) == QueryCommand("history", app="pay")
    assert parse("help canary", APPS) == QueryCommand("help", topic="canary")
    assert parse("", APPS) == QueryCommand("help")
    assert parse("canary user-v2 \u201410%".replace("\u201410%", "--steps 10,100"), APPS).steps == (10, 100)


@pytest.mark.parametrize("text, problem", [
    ("deploy user-v2", "unknown command 'deploy'"),
    ("canary shop-v2", "unknown app in 'shop-v2'"),
    ("canary user", "version missing"),
    ("canary user-v2 120%", "'120%' is not a percentage"),
    ("canary user-v2 0%", "'0%' is not a percentage"),
    ("canary user-v2 --steps 50,30", "must rise strictly"),
    ("canary user-v2 10% --steps 10,20", "either a first weight"),
    ("canary user-v2 --auto soon", "is not a duration"),
    ("batch user-v2 --at 25:00", "is not a time"),
    ("batch user-v2 --window 06:00", "must look like 00:00-06:00"),
    ("batch user-v2 --tz Mars/Olympus", "is not a time zone"),
    ("canary user-v2;rm", "unexpected characters"),
    ("canary user-v2 $(reboot)", "unexpected characters"),
    ("canary user-V2", "not a DNS-1123 label"),
    ("canary user-v2_x", "not a DNS-1123 label"),
    ("rolling user-v2 --max-surge 0 --max-unavailable 0", "cannot both be 0"),
    ("ab user-v2 header:role", "is not header:NAME=VALUE"),
    ("ab user-v2 cookie:vip --router replicas", "A/B needs --router gateway, nginx or istio"),
    ("approve", "APP missing"),
    ("approve shop", "unknown app 'shop'"),
    ("pause user now", "unexpected 'now'"),
    ("canary user-v2 --router", "--router needs a value"),
    ("recreate user-v2 --steps 10", "recreate does not take --steps"),
])
def test_malformed_input_names_the_problem_and_the_right_form(text, problem):
    with pytest.raises(UsageError) as err:
        parse(text, APPS)
    assert problem in err.value.problem
    assert "Usage: /release" in str(err.value)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_yields_a_command_or_usage_error(text):
    try:
        parse(text, APPS)
    except UsageError:
        pass


WORDS = st.sampled_from(["canary", "ab", "batch", "rolling", "plan", "approve", "user-v2", "pay",
                         "10%", "--steps", "50,30", "--every", "1m", "--at", "02:00", "--tz", "x",
                         "header:a=b", "cookie:c", "--full", "--window", "00:00-06:00", "--gray",
                         "3", "-", "%", "--", "user-", "pay-service-"])


@settings(max_examples=400, deadline=None)
@given(st.lists(WORDS, max_size=8))
def test_arbitrary_word_salad_yields_a_command_or_usage_error(words):
    try:
        parse(" ".join(words), APPS)
    except UsageError:
        pass


@pytest.mark.parametrize("line, problem", [
    ("freeze nope until 2026-12-27", "unknown app 'nope'"),
    ("freeze user until 2026-13-27", "is not a date like 2026-12-27"),
    ("freeze user until 2026-12-27 25:00", "is not a time like 09:00"),
    ("freeze user", "say until when"),
    ('freeze user for 2h "a" "b"', "give one reason"),
    ("freeze user for soon", "is not a duration"),
    ("unfreeze user now", "unexpected 'now'"),
    ("stop-all now", "unexpected 'now'"),
    ("gitops-diff", "APP missing"),
    ("ab user-v2 header:x~(a", "is not a regular expression"),
    ("ab user-v2 header:x~(?=a)", "not RE2"),
    ("canary user-v2 10% --sticky --router nginx", "--sticky needs --router gateway|istio"),
])
def test_policy_and_routing_words_refuse_with_the_problem(line, problem):
    with pytest.raises(UsageError) as err:
        parse(line, ["user", "pay"])
    assert problem in err.value.problem


def test_now_is_for_approve_only():
    registry = {"user": None}
    assert parse("approve user --now", registry).now
    with pytest.raises(UsageError):
        parse("pause user --now", registry)


def test_mirror_is_a_canary_whose_first_stage_is_a_shadow():
    cmd = parse("mirror user-v2 20% --for 10m", ["user"])
    assert isinstance(cmd, StartCommand)
    assert (cmd.strategy, cmd.mirror, cmd.bake, cmd.steps) == ("canary", 20, 600, (10, 30, 50, 100))
    planned = parse("plan mirror user-v2 5% --router istio", ["user"])
    assert (planned.dry_run, planned.mirror, planned.router) == (True, 5, "istio")
    assert parse("canary user-v2 --mirror 20% --steps 10,100", ["user"]).mirror == 20


@pytest.mark.parametrize("text,problem", [
    ("mirror user-v2", "give the app's new version and the share of requests to copy"),
    ("mirror user-v2 120%", "'120%' is not a percentage from 1% to 100%"),
    ("mirror user-v2 20% --for", "--for needs a value"),
    ("canary user-v2 --mirror 20% --router nginx", "--mirror needs --router gateway|istio"),
])
def test_a_malformed_mirror_names_the_problem(text, problem):
    with pytest.raises(UsageError, match=problem.replace("|", r"\|").replace("(", r"\(")):
        parse(text, ["user"])


def test_mute_and_unmute_take_nothing_after_them():
    assert parse("mute", ["user"]) == QueryCommand("mute") and parse("unmute", ["user"]) == QueryCommand("unmute")
    with pytest.raises(UsageError, match="unexpected 'user'"):
        parse("mute user", ["user"])
