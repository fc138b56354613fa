"""Release policy through Slack's real edge: approval counts, stage approver groups, expiry,
freezes by approvers only."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


from bot.adapters import telemetry
from bot.domain.model import Phase
from tests.kit.slack import ephemeral_ack
from tests.kit.wait import wait_until

from tests.kit.policy import LEADS, policy_doc  # noqa: F401  (policy_doc: for other test files too)


def waiting(sw, weight: int):
    return wait_until(lambda: (r := sw.world.store.active_for("user")) and r.phase == Phase.WAITING
                      and r.current.weight == weight and r, timeout=30, message=f"waiting at {weight}%")


def test_two_approvals_move_on_the_second_and_the_same_person_counts_once(make_sw):
    sw = make_sw(approvals=2)
    sw.command("canary user-v2 10%", user="U0REQ")
    r = waiting(sw, 10)
    msg = sw.wait_buttons("approve", "pause", "rollback")
    with ThreadPoolExecutor(20) as pool:                     # 20 concurrent clicks by one person
        codes = list(pool.map(lambda _: sw.click("approve", user="U0BOB", message=msg).status, range(20)))
    assert codes == [200] * 20
    voted = wait_until(lambda: (x := sw.world.store.get(r.id)).last_action == "vote" and x, timeout=20)
    wait_until(lambda: len(sw.ephemeral_texts("U0BOB")) == 19, timeout=20, message="19 answers")
    assert voted.phase == Phase.WAITING and voted.current.weight == 10
    assert voted.runtime.votes == {"0": ["U0BOB"]}
    # each other click is told it changed nothing: counted already, or the vote came first
    assert all("U0BOB already approved user's move to 30%" in t or "already done: vote by U0BOB" in t
               for t in sw.ephemeral_texts("U0BOB")), set(sw.ephemeral_texts("U0BOB"))
    wait_until(lambda: "approved by <@U0BOB>: 1 of 2; 1 more needed" in str(sw.live_message()["blocks"]),
               timeout=20, message="the message shows the vote")
    sw.click("approve", user="U0CAROL", message=msg)        # drawn before the vote: still counts
    moved = waiting(sw, 30)
    assert moved.stage == 1 and [e["actor"] for e in sw.world.store.audit(r.id)
                                 if e["action"] in ("vote", "approve")] == ["U0BOB", "U0CAROL"]


def test_a_stage_with_its_own_approvers_refuses_the_others(make_sw):
    sw = make_sw(stages={100: [LEADS]})
    sw.command("canary user-v2 50%", user="U0REQ")
    waiting(sw, 50)
    sw.wait_buttons("approve", "pause", "rollback")
    sw.click("approve", user="U0BOB")
    refusal = wait_until(lambda: sw.ephemeral_texts("U0BOB"), timeout=20)
    assert "may not approve user's move to 100%" in refusal[-1]
    assert sw.world.store.active_for("user").current.weight == 50
    sw.click("approve", user="U0LEAD")
    wait_until(lambda: sw.world.store.history("user") and sw.world.store.history("user")[0].phase
               == Phase.SUCCEEDED, timeout=40, message="done by the lead")


def test_an_expired_approval_pauses_and_says_why(make_sw):
    sw = make_sw(approval_timeout="2s")
    sw.command("canary user-v2 10%", user="U0REQ")
    r = waiting(sw, 10)
    assert r.runtime.approval_due > r.updated_at
    paused = wait_until(lambda: (x := sw.world.store.get(r.id)).phase == Phase.PAUSED and x, timeout=30)
    assert paused.reason == "no approval of stage 30% within 2s" and paused.last_actor == "scheduler"
    wait_until(lambda: any("no approval of stage 30%" in t for t in sw.thread_texts()), timeout=20)


def test_a_rollback_on_approval_timeout_is_counted_as_its_cause(make_sw):
    causes = lambda: {c: telemetry.ROLLBACKS.labels(cause=c)._value.get() for c in ("manual", "approval_timeout")}  # noqa: E731
    before = causes()
    sw = make_sw(approval_timeout="2s", on_approval_timeout="rollback")
    sw.command("canary user-v2 10%", user="U0REQ")
    r = waiting(sw, 10)
    done = wait_until(lambda: (x := sw.world.store.get(r.id)).phase == Phase.ROLLED_BACK and x, timeout=40)
    assert done.reason == "no approval of stage 30% within 2s"
    assert causes() == {"manual": before["manual"], "approval_timeout": before["approval_timeout"] + 1}


def test_only_approvers_freeze_and_a_freeze_refuses_a_start(make_sw):
    sw = make_sw()
    ack = ephemeral_ack(sw.command('freeze user for 1h "release train"', user="U0EVE"))
    assert "freeze" in ack
    refusal = wait_until(lambda: sw.ephemeral_texts("U0EVE"), timeout=20)
    assert "<@U0EVE> is not an approver of user" in refusal[-1] and not sw.world.store.freezes()
    sw.command('freeze user for 1h "release train"', user="U0ALICE")
    wait_until(lambda: "user" in sw.world.store.freezes(), timeout=20, message="frozen")
    sw.command("canary user-v2 10%", user="U0REQ")
    said = wait_until(lambda: sw.ephemeral_texts("U0REQ"), timeout=20)
    assert "user is frozen until" in said[-1] and "(release train)" in said[-1]
    assert sw.world.store.active_for("user") is None
