"""The audit trail on real Redis: `graybot audit` lists every change of a release (who, what,
when, evidence, cluster) as text, JSON or CSV; `--verify` finds an entry edited, deleted in the
middle or deleted at the end; the webhook receives every entry, in order, signed, through a
receiver that fails at first; retention forgets finished releases only; `/release audit APP`
answers in Slack."""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys

import pytest
import yaml

from bot.adapters import keys
from bot.domain.model import Phase
from bot.wiring import build_runner
from sandbox.receiver import Receiver
from sandbox.seed import apps_yaml
from tests.kit.slack import ephemeral_ack, start_slack_world, stop_slack_world
from tests.kit.wait import wait_until
from tests.kit.world import demo_world, rested

AUDIT_SECRET = "audit-signing-secret-1"


def cli(w, *args: str) -> subprocess.CompletedProcess:
    s = w.core.settings
    env = dict(os.environ, KUBECONFIG=s.kubeconfig, REDIS_URL=s.redis_url, GRAYBOT_CONFIG=s.config_path)
    return subprocess.run([sys.executable, "-m", "bot.cli", "audit", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def a_finished_canary(w):
    release = rested(w, w.start("canary user-v2 --steps 50,100").id)
    w.store.record(release.id, "U0EVE", "refused", "not an approver of user")
    w.act("approve user")                          # 50% -> 100%, which finishes it
    return wait_until(lambda: (h := w.store.history("user")) and h[0].phase == Phase.SUCCEEDED and h[0],
                      timeout=60, message="the canary finished")


@pytest.fixture
def w(sandbox, kube, redis_client, tmp_path):
    world = demo_world(sandbox, kube, redis_client, tmp_path).run_driver()
    yield world
    world.stop()
    world.core.close()


def test_the_cli_lists_every_change_as_text_json_and_csv(w):
    done = a_finished_canary(w).id
    listed = json.loads(cli(w, "user", "--format", "json").stdout)
    assert [(e["release"], e["actor"], e["action"]) for e in listed][:3] == [
        (done, "U_ALICE", "create"), (done, "U_ALICE", "start"), (done, "graybot", "stage_healthy")]
    assert ("U0EVE", "refused", "not an approver of user") in [(e["actor"], e["action"], e["detail"]) for e in listed]
    assert {e["cluster"] for e in listed} == {"default"} and all(e["when"].endswith("Z") for e in listed)
    assert listed[-1]["action"] == "finished" and listed[-1]["after"] == "succeeded"
    rows = list(csv.DictReader(io.StringIO(cli(w, "--format", "csv").stdout)))
    assert [r["hash"] for r in rows] == [e["hash"] for e in listed]
    text = cli(w, "user", "--since", "1h").stdout.splitlines()
    assert len(text) == len(listed) and "U0EVE  refused" in text[[e["action"] for e in listed].index("refused")]
    assert cli(w, "user", "--since", "2999-01-01").stdout.strip() == ""
    bad = cli(w, "nosuch")
    assert bad.returncode == 2 and "unknown app 'nosuch'" in bad.stderr


def test_verify_finds_an_edited_a_deleted_and_a_truncated_entry(w, redis_client):
    release_id = a_finished_canary(w).id
    stream = keys.audit(release_id)
    assert cli(w, "--verify").returncode == 0
    original = redis_client.xrange(stream)

    def rewrite(entries):                       # what someone with Redis access would do
        redis_client.delete(stream)
        for entry_id, fields in entries:
            redis_client.xadd(stream, fields, id=entry_id)

    rewrite([(i, dict(f, actor="U0MALLORY") if n == 2 else f) for n, (i, f) in enumerate(original)])
    edited = cli(w, "--verify")
    assert edited.returncode == 1 and f"{release_id}: entry 3 ({original[2][0]}) was edited" in edited.stdout
    rewrite(original[:3] + original[4:])
    deleted = cli(w, "user", "--verify")
    assert deleted.returncode == 1 and f"entry 4 ({original[4][0]}) does not follow the one before it" in deleted.stdout
    rewrite(original[:-1])
    truncated = cli(w, "--verify")
    assert f"{len(original)} entries were written and {len(original) - 1} are left" in truncated.stdout
    rewrite(original)
    assert cli(w, "--verify").returncode == 0


def test_the_webhook_gets_every_entry_in_order_signed_despite_a_failing_receiver(sandbox, kube, redis_client,
                                                                                  tmp_path):
    receiver = Receiver().start()
    receiver.fail_next(3)
    doc = dict(apps_yaml(), audit={"webhook": receiver.url, "timeout": "2s"})
    w = demo_world(sandbox, kube, redis_client, tmp_path, doc, audit_secret=AUDIT_SECRET, leader_ttl=2)
    runner = build_runner(w.core, driver_period=0.2).start()
    try:
        done = a_finished_canary(w)
        trail = w.store.audit(done.id)
        wait_until(lambda: len(receiver.bodies()) == len(trail), timeout=60, message="every entry delivered")
        assert receiver.refused == 3                                  # retried, not dropped
        got = [json.loads(body) for body in receiver.bodies()]
        assert [g["hash"] for g in got] == [e["hash"] for e in trail]            # in order, once each
        for headers, body in receiver.received:
            mac = hmac.new(AUDIT_SECRET.encode(), f"v1:{headers['x-graybot-timestamp']}:".encode() + body,
                           hashlib.sha256).hexdigest()
            assert headers["x-graybot-signature"] == f"v1={mac}"
        assert AUDIT_SECRET not in json.dumps(got)
        # an entry leaves the outbox once the receiver's answer is back: a moment after it got the body
        wait_until(lambda: redis_client.xlen(keys.audit_outbox()) == 0, timeout=10, message="the outbox emptied")
    finally:
        runner.stop()
        w.core.close()
        receiver.stop()


def test_a_webhook_without_its_secret_is_a_config_problem(sandbox, tmp_path):
    config = tmp_path / "apps.yaml"
    config.write_text(yaml.safe_dump(dict(apps_yaml(), audit={"webhook": "https://siem.example/in"})))
    env = {"PATH": os.environ["PATH"], "GRAYBOT_CONFIG": str(config)}
    run = subprocess.run([sys.executable, "-m", "bot.cli", "check-config"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 1 and "audit.webhook is set but GRAYBOT_AUDIT_SECRET is not" in run.stderr


def test_retention_forgets_finished_releases_and_keeps_running_ones(w):
    finished = a_finished_canary(w).id
    running = rested(w, w.start("canary pay-v2 --steps 50,100").id).id
    assert w.store.trail.prune(started_before=0) == []                     # nothing that old
    import time
    assert w.store.trail.prune(started_before=time.time() + 1) == [finished]
    assert w.store.audit(finished) == [] and w.store.get(finished) is None
    assert w.store.audit(running) and w.store.get(running).phase == Phase.WAITING


@pytest.fixture
def sw(sandbox, kube, redis_client, tmp_path):
    world = start_slack_world(sandbox, kube, redis_client, tmp_path)
    yield world
    stop_slack_world(world)


def test_release_audit_in_slack_shows_the_last_entries_and_the_chain(sw):
    sw.command("canary user-v2 10%")
    sw.wait_buttons("approve", "pause", "rollback")
    assert "/release audit user" in ephemeral_ack(sw.command("audit user", user="U0BOB"))
    text = wait_until(lambda: sw.ephemeral_texts("U0BOB"), timeout=20, message="the answer")[-1]
    assert "Audit trail of user" in text and "U0ALICE  create" in text and "hash chains intact" in text
    assert "unknown" not in text
    usage = ephemeral_ack(sw.command("audit"))
    assert "APP missing" in usage and "/release audit APP" in usage
