"""The approval rules hold on every path, tried as someone in the release channel who approves
nothing would try them: a start that is already the approved stage, timers armed by a
non-approver, `approve --full` past a stage's approvers, steps that avoid a listed weight,
`continue` after a person's pause, a button value moved to another button, and an emergency stop
undone by the requester. Each refusal changes nothing."""
from __future__ import annotations

import pytest

from bot.domain.model import Phase
from sandbox.slack import block_action_body
from tests.kit.clusters import slack_over_two
from tests.kit.slack import CHANNEL, stop_slack_world
from tests.kit.wait import wait_until
from tests.kit.policy import LEADS

STRICT = dict(approvals=2, stages={100: [LEADS]})     # approvers alice, bob, carol, LEADS; requester may not approve


def refused(sw, user: str, fragment: str) -> str:
    return wait_until(lambda: next((t for t in sw.ephemeral_texts(user) if fragment in t), None), timeout=20,
                      message=f"a refusal saying {fragment!r}")


def untouched(sw) -> None:
    assert sw.world.store.active_for("user") is None and sw.world.store.history("user") == []
    assert sw.world.kube.deployment("default", "user-v2") is None and sw.world.replicas("user-v1") == 10
    assert sw.world.pods_by_image("user") == {"nginx:user-v1": 10}


@pytest.mark.parametrize("command, fragment", [
    ("canary user-v2 100%", "may not approve user's move to 100%"),
    ("rolling user-v2", "may not approve user's move to rolling update"),
    ("recreate user-v2", "may not approve user's move to"),
])
def test_a_non_approver_cannot_start_what_needs_approval(make_sw, command, fragment):
    sw = make_sw(**STRICT)
    sw.command(command, user="U0EVE")
    assert "(starting it applies" in refused(sw, "U0EVE", fragment)
    untouched(sw)


def test_steps_that_avoid_a_listed_weight_still_need_its_approvers(make_sw):
    sw = make_sw(stages={90: [LEADS]})
    sw.command("canary user-v2 --steps 10,99", user="U0REQ")          # 10% needs no one: it starts
    wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.WAITING, timeout=40)
    sw.command("approve user", user="U0ALICE")                        # 99 is at or above 90
    said = refused(sw, "U0ALICE", "may not approve user's move to 99%")
    assert "S0PRODLEADS" in said and sw.world.store.active_for("user").stage == 0
    assert sw.world.replicas("user-v2") == 1


def test_one_approver_cannot_start_a_stage_that_needs_two(make_sw):
    sw = make_sw(approvals=2)
    sw.command("canary user-v2 100%", user="U0ALICE")
    said = refused(sw, "U0ALICE", "needs 2 people to approve 100%")
    assert "start with a smaller first step" in said
    untouched(sw)


def test_timers_cannot_be_armed_by_a_non_approver(make_sw):
    sw = make_sw(requester_can_approve=True)
    for command in ("canary user-v2 10% --auto 1s", "batch user-v2 --every 1s"):
        sw.command(command, user="U0EVE")
    texts = wait_until(lambda: [t for t in sw.ephemeral_texts("U0EVE") if "a timer would approve in your name" in t]
                       if len([t for t in sw.ephemeral_texts("U0EVE") if "timer" in t]) >= 2 else None, timeout=20)
    assert len(texts) == 2 and all("is not an approver of user" in t for t in texts)
    untouched(sw)
    sw.command("canary user-v2 10% --auto 1s", user="U0ALICE")      # an approver's timer approves for them
    done = wait_until(lambda: (h := sw.world.store.history("user")) and h[0].phase == Phase.SUCCEEDED and h[0],
                      timeout=60, message="the approver's timed release done")
    assert [e["actor"] for e in sw.world.store.audit(done.id) if e["action"] == "approve"] == ["scheduler"] * 3


def test_timers_cannot_stand_in_for_two_approvals(make_sw):
    sw = make_sw(approvals=2)
    sw.command("canary user-v2 10% --auto 1s", user="U0ALICE")
    assert "needs 2 people to approve 30%" in refused(sw, "U0ALICE", "a timer would approve in your name")
    untouched(sw)


def test_a_vote_for_the_next_stage_does_not_count_toward_approve_full(make_sw):
    sw = make_sw(approvals=2, requester_can_approve=True)
    sw.command("canary user-v2 10%", user="U0ALICE")
    wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.WAITING, timeout=40)
    sw.command("approve user", user="U0BOB")                    # a vote for 30%
    wait_until(lambda: sw.world.store.active_for("user").runtime.votes == {"0": ["U0BOB"]}, timeout=20)
    sw.command("approve user --full", user="U0CAROL")
    release = wait_until(lambda: (r := sw.world.store.active_for("user")) and r.last_action == "vote"
                         and r.runtime.votes.get("0-full") and r, timeout=20, message="a vote for --full")
    assert release.stage == 0 and release.phase == Phase.WAITING         # one vote for --full, not two
    assert sw.world.replicas("user-v2") == 1


def test_approve_full_needs_the_approvers_of_every_stage_it_skips(make_sw):
    sw = make_sw(stages={100: [LEADS]})
    sw.command("canary user-v2 10%", user="U0REQ")
    before = wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.WAITING and r,
                        timeout=40)
    sw.command("approve user --full", user="U0ALICE")
    assert "may not approve user's move to 100%" in refused(sw, "U0ALICE", "move to 100%")
    assert sw.world.store.active_for("user").version == before.version and sw.world.replicas("user-v2") == 1


def test_continue_is_only_for_a_gate_and_a_resume_value_is_not_a_continue(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%", user="U0REQ")
    sw.wait_buttons("approve", "pause", "rollback")
    sw.click("pause", user="U0ALICE")
    msg = sw.wait_buttons("resume", "rollback")
    paused = sw.world.store.active_for("user")
    resume_value = sw.buttons(msg)["resume"]["value"]
    sw.post(block_action_body("continue", resume_value, "U0ALICE", CHANNEL, msg["ts"]))
    refused(sw, "U0ALICE", "this button is not one of graybot's")
    sw.command("continue user", user="U0ALICE")
    assert "resume it instead" in refused(sw, "U0ALICE", "not held by a gate")
    assert sw.world.store.active_for("user").version == paused.version


def test_a_stop_by_an_approver_is_undone_only_by_an_approver(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%", user="U0REQ")
    wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.WAITING, timeout=40)
    sw.command('stop-all "incident 7"', user="U0ALICE")
    stopped = wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.PAUSED and r, timeout=20)
    sw.command("resume user", user="U0REQ")                      # the requester, not an approver
    assert "paused by an emergency stop-all; only its approvers can resume" in refused(sw, "U0REQ", "stop-all")
    assert sw.world.store.active_for("user").version == stopped.version
    sw.command("resume user", user="U0BOB")
    wait_until(lambda: sw.world.store.active_for("user").phase == Phase.WAITING, timeout=20)


def test_read_only_commands_honour_the_apps_channels(make_sw):
    sw = make_sw(channels=["C0RELEASE"])
    for command in ("status user", "plan canary user-v2 10%", "history user"):
        sw.command(command, user="U0ALICE", channel="C0ELSEWHERE")
    texts = wait_until(lambda: len(t := sw.slack.ephemerals("U0ALICE")) >= 3 and t, timeout=20)
    assert all("user can be released only from <#C0RELEASE>" in e["text"] for e in texts[-3:]), texts


def test_a_wave_timer_needs_the_approvers_of_the_clusters_it_starts(sandbox, prod, redis_client, tmp_path):
    sw = slack_over_two(sandbox, prod, redis_client, tmp_path,
                        user={"clusters": {"staging": {}, "prod": {"approvers": ["U0SRE"]}}})
    try:
        sw.command("canary user-v2 10% --waves staging,prod --wave-every 1s --auto 1s", user="U0EVE")
        said = refused(sw, "U0EVE", "a timer would approve in your name")
        assert "U0EVE> is not an approver of user" in said and "U0SRE" in said
        assert sw.world.store.active_for("user") is None and prod.server.writes == []
    finally:
        stop_slack_world(sw)


def test_a_freeze_needs_the_approvers_of_every_cluster_the_app_runs_in(sandbox, prod, redis_client, tmp_path):
    sw = slack_over_two(sandbox, prod, redis_client, tmp_path,
                        user={"clusters": {"staging": {}, "prod": {"approvers": ["U0SRE"]}}})
    try:
        sw.command('freeze user for 1h "quiet week"', user="U0ALICE")        # anyone in staging, not in prod
        assert "U0SRE" in refused(sw, "U0ALICE", "is not an approver of user")
        assert sw.world.store.freezes() == {}
        sw.command('unfreeze user', user="U0ALICE")
        refused_twice = wait_until(lambda: len([t for t in sw.ephemeral_texts("U0ALICE")
                                                if "is not an approver" in t]) == 2, timeout=20)
        assert refused_twice
        sw.command('freeze user for 1h "quiet week"', user="U0SRE")
        wait_until(lambda: "user" in sw.world.store.freezes(), timeout=20, message="frozen by prod's approver")
    finally:
        stop_slack_world(sw)
