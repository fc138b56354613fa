"""Gates seen from Slack: the reason in the thread with the requester mentioned, the held
release's buttons, and graybot's own metrics on /metrics."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from sandbox.seed import apps_yaml
from tests.kit.wait import wait_until
from tests.kit.slack import start_slack_world, stop_slack_world


@pytest.fixture
def sw(sandbox, kube, redis_client, tmp_path):
    sandbox.generator.rps = 400
    sandbox.generator.start()
    world = start_slack_world(sandbox, kube, redis_client, tmp_path, apps_yaml(metrics=True, bake="1s"),
                              prometheus=sandbox.url)
    yield world
    stop_slack_world(world)


def test_errors_image_rollback_is_explained_in_the_thread(sw):
    sw.command("canary user-errors 30%", user="U0ALICE")
    texts = sw.slack.wait_for(lambda: (t := sw.thread_texts()) and any("rollback finished" in x for x in t) and t,
                              timeout=40)
    failed = next(t for t in texts if t.startswith(":rotating_light: gate failed"))
    assert "error-rate = 0." in failed and "above the max of 0.05" in failed and "<@U0ALICE>" in failed
    final = sw.live_message()
    assert sw.buttons(final) == {} and "Rolled back" in str(final["blocks"])
    assert "error-rate" in str(final["blocks"])                    # the reason stays on the message
    (shared,) = sw.slack.wait_for(lambda: [m for m in sw.slack.thread("C0RELEASE", final["ts"]) if m.get("files")],
                                  timeout=20)                      # the gate's evidence as a picture, once
    (png,) = shared["files"]
    assert png["mimetype"] == "image/png" and shared["text"].startswith("error-rate: fail")
    assert [c.method for c in sw.slack.calls() if c.method.startswith("files.")] == [
        "files.getUploadURLExternal", "files.completeUploadExternal"]   # the two-step upload, not files.upload
    image = Image.open(io.BytesIO(sw.slack.uploads.data(png["id"])))
    assert image.format == "PNG" and image.size == (720, 360) and png["size"] > 10_000
    assert len(image.convert("RGB").getcolors(1 << 16) or []) > 50      # lines, labels, a legend: not a blank


def test_held_release_offers_rollback_and_continue(sw):
    sw.command("canary user-broken 10% --no-auto-rollback")
    held = sw.wait_buttons("continue", "rollback")
    assert "auto-rollback is off" in str(held["blocks"])
    sw.click("rollback")
    wait_until(lambda: "Rolled back" in str(sw.live_message()["blocks"]), timeout=30)


def test_metrics_endpoint_reports_graybot_itself(sw):
    sw.command("canary user-v2 30%")
    sw.wait_buttons("approve", "pause", "rollback")
    text = sw.http.request("GET", sw.url + "/metrics").data.decode()
    for name in ("graybot_active_releases 1.0", 'graybot_transitions_total{event="start"}',
                 'graybot_gate_evaluations_total{gate="metric",result="pass"}',
                 'graybot_ack_seconds_bucket{kind="command"'):
        assert name in text, name
    health = sw.http.request("GET", sw.url + "/healthz")
    assert health.status == 200 and b'"redis": true' in health.data
