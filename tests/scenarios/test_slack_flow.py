"""Scenario: /release canary user-v2 10% through graybot's real HTTP endpoint, to 100%."""
from __future__ import annotations

import html

import pytest

from bot.domain.model import Phase
from tests.kit.wait import wait_until
from tests.kit.slack import CHANNEL, ephemeral_ack, start_slack_world, stop_slack_world


@pytest.fixture
def sw(sandbox, kube, redis_client, redis_url, tmp_path):
    world = start_slack_world(sandbox, kube, redis_client, tmp_path)
    yield world
    stop_slack_world(world)


def test_canary_from_slash_command_to_retired_stable(sw):
    w = sw.world
    resp = sw.command("canary user-v2 10%")
    assert "/release canary user-v2 10%" in ephemeral_ack(resp)
    msg = sw.wait_buttons("approve", "pause", "rollback")
    ts = msg["ts"]
    assert msg["blocks"][0]["text"]["text"] == "user: canary v1 → v2"
    assert sw.buttons(msg)["approve"]["text"]["text"] == "Approve 30%"
    assert "user-v1 is scaled back to 10 pods first" in sw.buttons(msg)["rollback"]["confirm"]["text"]["text"]
    assert (w.replicas("user-v2"), w.replicas("user-v1")) == (1, 9)
    for new, old, next_name in ((3, 7, "Approve 50%"), (5, 5, "Approve 100%")):
        assert sw.click("approve", user="U0BOB").status == 200
        wait_until(lambda: sw.live_message()["ts"] == ts and
                   sw.buttons(sw.live_message()).get("approve", {}).get("text", {}).get("text") == next_name,
                   timeout=30, message=next_name)
        assert (w.replicas("user-v2"), w.replicas("user-v1")) == (new, old)
    sw.click("approve", user="U0BOB")
    final = sw.wait_buttons()
    assert final["ts"] == ts and final.get("edited", 0) >= 4                  # updated in place
    assert "Done: v2 serves everything" in str(final["blocks"])
    assert w.kube.deployment("default", "user-v1") is None and w.pods_by_image("user") == {"nginx:user-v2": 10}
    release = w.store.history("user")[0]
    assert release.phase == Phase.SUCCEEDED and release.channel == CHANNEL
    texts = sw.slack.wait_for(lambda: len(sw.thread_texts()) >= 8 and sw.thread_texts())
    assert len(texts) == 8, texts
    assert texts[0].startswith("<@U0ALICE> started canary to *v2*")
    assert sum("<@U0BOB> approved" in t for t in texts) == 3
    assert texts[-1].startswith(":tada: v2 serves everything")
    assert all(c.method != "chat.postMessage" or c.args.get("thread_ts") or c.args["channel"] == CHANNEL
               for c in sw.slack.calls())
    assert not any("response_url" in c.args for c in sw.slack.calls())


def test_rollback_button_from_the_message(sw):
    w = sw.world
    sw.command("canary user-v2 10%")
    sw.wait_buttons("approve", "pause", "rollback")
    sw.click("rollback", user="U0ALICE")
    final = wait_until(lambda: "Rolled back" in str(sw.live_message()["blocks"]) and sw.live_message(),
                       timeout=30, message="rolled back message")
    assert sw.buttons(final) == {}
    assert w.kube.deployment("default", "user-v2") is None and w.replicas("user-v1") == 10
    sw.slack.wait_for(lambda: any("rollback finished" in t for t in sw.thread_texts()))


def test_pause_and_resume_buttons(sw):
    sw.command("canary user-v2 10%")
    sw.wait_buttons("approve", "pause", "rollback")
    sw.click("pause")
    paused = sw.wait_buttons("resume", "rollback")
    assert "Paused" in str(paused["blocks"])
    sw.click("resume")
    sw.wait_buttons("approve", "pause", "rollback")
    assert sw.world.store.active_for("user").phase == Phase.WAITING


def test_queries_answer_ephemerally_and_change_nothing(sw, redis_client):
    sw.command("canary user-v2 10%")
    sw.wait_buttons("approve", "pause", "rollback")
    release = sw.world.store.active_for("user")
    for text in ("status user", "list", "history user", "plan bluegreen pay-v2"):
        assert sw.command(text, user="U0DAVE").status == 200
    replies = sw.slack.wait_for(lambda: len(sw.ephemeral_texts("U0DAVE")) >= 4 and sw.ephemeral_texts("U0DAVE"))
    joined = html.unescape("\n".join(replies))          # as Slack shows it: &gt; is >
    assert "phase waiting, stage 1/4 (10%)" in joined and "user: canary -> v2, waiting at 10%" in joined
    assert "No finished releases of user." in joined and "Plan (dry run, nothing changed)" in joined
    assert sw.world.store.active_for("user").version == release.version
    assert sw.world.kube.deployment("default", "pay-v2") is None


def test_usage_errors_and_help_answer_in_the_ack(sw, redis_client):
    bad = ephemeral_ack(sw.command("canary user-v2 120%"))
    assert "'120%' is not a percentage" in bad and "Usage:" in bad
    assert "graybot moves an app" in ephemeral_ack(sw.command("help"))
    assert redis_client.keys("graybot:release:*") == [] and sw.slack.calls("chat.postMessage") == []
