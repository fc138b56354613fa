"""Approvers paged by direct message, through signed requests and the fake Slack: a waiting stage
DMs each approver (a group's members one by one, not the requester who may not approve) once;
Approve in one DM moves the release through the same policy, and every DM then says who did it."""
from __future__ import annotations

from sandbox.slack import block_action_body
from tests.kit.wait import wait_until

APPROVERS = ("U0ALICE", "U0BOB", "U0CAROL", "U0LEAD")        # U0LEAD through the LEADS group


def dms(sw, user: str) -> list[dict]:
    return [m for m in sw.slack.channel(user) if "thread_ts" not in m]


def test_a_waiting_stage_pages_each_approver_once_and_every_page_says_who_approved(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%", user="U0DAVE")
    sw.wait_buttons("approve", "pause", "rollback")
    release = sw.world.store.active_for("user")
    wait_until(lambda: all(len(dms(sw, u)) == 1 for u in APPROVERS), timeout=15, message="every approver paged")
    assert dms(sw, "U0DAVE") == []                      # the requester cannot approve their own release
    page = dms(sw, "U0BOB")[0]
    assert "*user* v1 → v2 waits for your approval to move to" in page["text"] and "<@U0DAVE>" in page["text"]
    buttons = {e["action_id"]: e for b in page["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert sorted(buttons) == ["approve", "rollback"]
    assert buttons["approve"]["value"] == sw.buttons(sw.live_message())["approve"]["value"]

    clicked = sw.post(block_action_body("approve", buttons["approve"]["value"], "U0BOB", "U0BOB", page["ts"],
                                        block_id=f"page:{release.id}"))
    assert clicked.status == 200
    wait_until(lambda: sw.world.store.get(release.id).stage == 1, timeout=20, message="approved from a DM")
    wait_until(lambda: all("approved by <@U0BOB>" in dms(sw, u)[0]["text"] and dms(sw, u)[0]["blocks"][0]
                           .get("type") == "section" and len(dms(sw, u)[0]["blocks"]) == 1 for u in APPROVERS),
               timeout=15, message="every page says who approved, without buttons")
    wait_until(lambda: all(len(dms(sw, u)) == 2 for u in APPROVERS), timeout=15, message="the next gate pages again")
    old = dms(sw, "U0ALICE")[0]
    again = sw.post(block_action_body("approve", buttons["approve"]["value"], "U0ALICE", "U0ALICE", old["ts"]))
    assert again.status == 200                          # a spent page: its gate is closed
    wait_until(lambda: any("nothing changed" in e["text"] for e in sw.slack.ephemerals("U0ALICE")), timeout=10)
    assert sw.world.store.get(release.id).stage == 1


def test_one_reminder_after_remind_after_the_requester_warned_before_the_timeout_and_muted_people_left_alone(make_sw):
    sw = make_sw(remind_after="1s", approval_timeout="6s", on_approval_timeout="pause")
    muted = sw.command("mute", user="U0CAROL")
    assert muted.status == 200
    wait_until(lambda: sw.world.store.muted() == {"U0CAROL"}, timeout=10, message="carol muted")
    sw.command("canary user-v2 10%", user="U0DAVE")
    paged = ("U0ALICE", "U0BOB", "U0LEAD")
    wait_until(lambda: all(len(dms(sw, u)) == 1 for u in paged), timeout=15, message="approvers paged")
    wait_until(lambda: all(len(dms(sw, u)) == 2 and dms(sw, u)[1]["text"].startswith(":bell: Reminder:")
                           for u in paged), timeout=15, message="one reminder each")
    warned = wait_until(lambda: [m["text"] for m in dms(sw, "U0DAVE") if "still waits for approval" in m["text"]],
                        timeout=15, message="the requester warned before the timeout")
    assert "graybot will pause it (approval_timeout)" in warned[0]
    release = sw.world.store.active_for("user") or sw.world.store.history("user")[0]
    wait_until(lambda: sw.world.store.get(release.id).phase.value == "paused", timeout=20, message="timed out")
    wait_until(lambda: all("paused by" in dms(sw, u)[0]["text"] for u in paged), timeout=15,
               message="the pages say it was paused")
    assert all(len(dms(sw, u)) == 2 for u in paged) and dms(sw, "U0CAROL") == []
