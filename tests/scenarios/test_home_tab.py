"""graybot's Home tab through signed requests and the fake Slack: opening it publishes the
person's board (what waits for *their* approval first), its Approve moves the release through the
same policy as the live message's, it follows the change, and a click from someone the policy
refuses, or from a view graybot did not publish for them, changes nothing."""
from __future__ import annotations

from bot.domain.model import Phase
from sandbox.slack import app_home_opened_body, view_action_body
from tests.kit.wait import wait_until


def open_home(sw, user: str) -> dict:
    before = (sw.slack.home(user) or {}).get("published", 0)
    resp = sw.post(app_home_opened_body(user), content_type="application/json")
    assert resp.status == 200
    return wait_until(lambda: (v := sw.slack.home(user)) and v["published"] > before and v, timeout=10,
                      message=f"{user}'s Home tab published")


def texts(view: dict) -> str:
    return "\n".join((b.get("text") or {}).get("text", "") for b in view["blocks"] if b["type"] == "section")


def home_buttons(view: dict) -> dict[str, dict]:
    return {e["action_id"]: e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}


def test_the_home_tab_lists_what_waits_for_you_and_its_approve_moves_the_release(make_sw):
    sw = make_sw()
    sw.command("canary user-v2 10%", user="U0DAVE")
    sw.wait_buttons("approve", "pause", "rollback")
    release = sw.world.store.active_for("user")
    assert release.phase == Phase.WAITING and release.stage == 0

    bob = open_home(sw, "U0BOB")                      # an approver of user
    said = texts(bob)
    assert said.index("*Waiting for your approval* (1)") < said.index("*user* canary v1 → v2")
    assert "*user* canary v1 → v2: stage 1/4 *10%*, waiting · your approval" in said and "requested by <@U0DAVE>" in said
    live = sw.buttons(sw.live_message())
    assert home_buttons(bob)["approve"]["value"] == live["approve"]["value"]     # the same signed value

    eve = open_home(sw, "U0EVE")                      # not an approver: the release is only running
    assert "*Nothing waits for your approval.*" in texts(eve) and "*Running* (1)" in texts(eve)
    refused = sw.post(view_action_body("approve", home_buttons(eve)["approve"]["value"], "U0EVE", eve["id"]))
    assert refused.status == 200
    wait_until(lambda: any("may not approve" in m["text"] or "not an approver" in m["text"]
                           for m in sw.slack.channel("U0EVE")), timeout=10, message="eve told why, in her DM")
    forged = sw.post(view_action_body("approve", home_buttons(bob)["approve"]["value"], "U0BOB", "V0NOTHERS"))
    assert forged.status == 200
    wait_until(lambda: any("not on your Home tab" in m["text"] for m in sw.slack.channel("U0BOB")), timeout=10)
    assert sw.world.store.get(release.id).version == release.version              # neither changed anything

    assert sw.post(view_action_body("approve", home_buttons(bob)["approve"]["value"], "U0BOB", bob["id"])).status == 200
    moved = wait_until(lambda: (r := sw.world.store.get(release.id)).stage == 1 and r, timeout=20,
                       message="approved from the Home tab")
    assert any(e["action"] == "approve" and e["actor"] == "U0BOB" for e in sw.world.store.audit(release.id))
    wait_until(lambda: f"stage 2/4 *{moved.current.name}*" in texts(sw.slack.home("U0BOB")), timeout=15,
               message="bob's Home tab follows the change")
