"""A `graybot serve` process's log under unauthenticated abuse: forged requests are logged by
their length (not their 100 KB bodies), and a newline in a value cannot forge a log line."""
from __future__ import annotations

import pytest

from sandbox.seed import apps_yaml
from sandbox.slack import FakeSlack, signature_headers
from tests.kit.processes import Bots
from tests.kit.world import demo_world

FORGED_LINE = "2026-12-02 10:00:00,000 INFO graybot.engine: U0EVE approved user 100%"


@pytest.fixture
def bots(sandbox, kube, redis_client, redis_url, tmp_path):
    slack = FakeSlack().start()
    world = demo_world(sandbox, kube, redis_client, tmp_path, apps_yaml())
    b = Bots(world, slack, redis_url, tmp_path)
    b.start("serve")
    yield b
    b.stop_all()
    slack.stop()


def test_forged_requests_cannot_flood_or_forge_the_log(bots, tmp_path):
    log = tmp_path / "bot-0.log"
    before = log.stat().st_size
    body = "command=%2Frelease&text=status\n" + FORGED_LINE + "\n&pad=" + "x" * 100_000
    for _ in range(20):
        headers = dict(signature_headers("not-the-secret", body), **{"Content-Type": "application/x-www-form-urlencoded"})
        assert bots.http.request("POST", bots.url + "/slack/events", body=body.encode(), headers=headers,
                                 timeout=5, retries=False).status == 401
    bots.stop_all()
    text = log.read_text()[before:]
    assert log.stat().st_size - before < 20 * 500                          # lines, not 2 MB of bodies
    assert text.count("invalid request signature (body of") == 20
    assert not any(line.startswith(FORGED_LINE[:10]) and "approved user 100%" in line for line in text.splitlines())


def test_a_value_with_a_newline_stays_on_its_line():
    import logging

    from bot.runtime.logs import SafeRecords

    record = logging.LogRecord("graybot.edge", logging.INFO, __file__, 1, "request failed: %s", (
        "status\n" + FORGED_LINE + "\u202e",), None)
    SafeRecords().filter(record)
    assert "\n" not in record.getMessage() and record.getMessage().endswith("100%\\u202e")
    assert "\\n2026-12-02" in record.getMessage()



def test_waitresss_warning_for_each_request_waiting_for_a_thread_is_not_written(caplog):
    """A burst of clicks queues requests behind the edge's busy HTTP threads, and waitress warns
    once for each ("Task queue depth is N"): not written; waitress's errors still are."""
    import logging

    from bot.runtime import logs

    logs.quiet_third_party()
    caplog.set_level(logging.INFO)
    logging.getLogger("waitress.queue").warning("Task queue depth is %d", 3)
    logging.getLogger("waitress.queue").error("a queue that broke")
    logging.getLogger("waitress").warning("a warning of the server's own")
    assert "Task queue depth" not in caplog.text
    assert "a queue that broke" in caplog.text and "the server's own" in caplog.text
