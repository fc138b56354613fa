"""`graybot release ...` from a terminal: same grammar and engine, the OS user acts."""
from __future__ import annotations

import getpass
import os
import subprocess
import sys

import pytest

from sandbox.seed import apps_yaml, seed_demo
from tests.kit.wait import wait_until
from bot.adapters.kube import Kube


@pytest.fixture
def cli(sandbox, kube, redis_url, redis_client, tmp_path):
    apps = seed_demo(sandbox.store, tmp_path)
    k = Kube(kube)
    wait_until(lambda: (k.deployment("default", "user-v1").get("status") or {}).get("readyReplicas") == 10)
    env = dict(os.environ, KUBECONFIG=str(sandbox.kubeconfig), REDIS_URL=redis_url,
               GRAYBOT_CONFIG=str(apps))

    def run(*words: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", "release", *words], env=env,
                              capture_output=True, text=True, timeout=120)
    run.kube = k
    run.kube_env = env
    return run


def test_plan_then_canary_then_status_from_the_terminal(cli, redis_client):
    plan = cli("plan", "canary", "user-v2", "10%")
    assert plan.returncode == 0, plan.stderr
    assert "Plan (dry run, nothing changed)" in plan.stdout and "new   1 / old   9" in plan.stdout
    assert redis_client.keys("*") == []
    started = cli("canary", "user-v2", "10%")
    assert started.returncode == 0, started.stderr
    assert "stage healthy: stage 10% -> waiting" in started.stdout
    assert cli.kube.deployment("default", "user-v2")["spec"]["replicas"] == 1
    status = cli("status", "user")
    assert f"requested by cli:{getpass.getuser()}" in status.stdout and "phase waiting" in status.stdout


def test_usage_errors_exit_2_and_change_nothing(cli, redis_client):
    bad = cli("canary", "user-v2", "120%")
    assert bad.returncode == 2 and "'120%' is not a percentage" in bad.stderr
    assert "Usage: /release canary" in bad.stderr
    assert redis_client.keys("*") == [] and cli.kube.deployment("default", "user-v2") is None


def test_refusals_exit_1(cli):
    refused = cli("approve", "user")
    assert refused.returncode == 1 and "user has no active release" in refused.stderr


def test_graybot_sandbox_command_serves_the_demo_and_writes_its_files(tmp_path, kubectl_bin):
    from tests.kit.wait import free_port

    port = free_port()
    kubeconfig = tmp_path / "gb" / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox", "--seed", "demo", "--port", str(port),
                             "--kubeconfig", str(kubeconfig), "--ready-delay", "0.2", "--traffic-rps", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = "".join(proc.stdout.readline() for _ in range(6))
        assert f"sandbox cluster: http://127.0.0.1:{port}" in banner, banner
        assert "apps.yaml" in banner and "/api/v1/query" in banner
        from bot.config import load_registry
        registry = load_registry(kubeconfig.parent / "apps.yaml")
        assert set(registry) == {"user", "pay"} and registry["user"].gates.metrics
        get = lambda: subprocess.run([kubectl_bin, "--kubeconfig", str(kubeconfig), "--cache-dir",  # noqa: E731
                                      str(tmp_path / "cache"), "get", "deployments"],
                                     capture_output=True, text=True, timeout=60).stdout
        wait_until(lambda: "user-v1   10/10" in get(), timeout=30)
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_the_playground_stops_cleanly_on_ctrl_c_to_its_process_group(tmp_path):
    import signal
    import time
    import urllib.request

    from tests.kit.wait import free_port
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "playground", "--fast", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def up():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/api/users", timeout=1).status == 200
        except OSError:
            return False
    try:
        wait_until(up, timeout=60, interval=0.2, message="playground up")
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)            # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0 and "Traceback" not in err.decode(), err.decode()[-2000:]
    assert took < 10, f"{took:.1f}s"          # a hang check; how fast it stops is not a pass/fail matter


def test_the_playground_in_socket_mode_releases_through_the_console(tmp_path):
    import json
    import signal
    import urllib.request

    from tests.kit.wait import free_port
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "playground", "--fast", "--socket", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def get(path):
        try:
            return json.loads(urllib.request.urlopen(base + path, timeout=2).read())
        except OSError:
            return None

    def post(path, body):
        req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=5).read())

    def approve_button():
        for msg in (get("/api/messages?user=U0ALICE") or {}).get("messages", []):
            for block in msg.get("blocks") or []:
                for element in block.get("elements") or []:
                    if element.get("action_id") == "approve":
                        return element["value"], msg["ts"]
        return None
    try:
        wait_until(lambda: get("/api/users"), timeout=60, interval=0.2, message="playground up")
        reply = post("/api/command", {"user": "U0ALICE", "text": "/release canary user-v2 10%"})
        assert reply["status"] == 200 and "/release canary user-v2 10%" in reply["text"]   # the ack's payload
        value, ts = wait_until(approve_button, timeout=30, message="approve button")
        assert post("/api/action", {"user": "U0ALICE", "action_id": "approve", "value": value, "ts": ts})["status"] == 200
        def staging_user():
            clusters = {c["name"]: c for c in (get("/api/cluster") or {}).get("clusters", [])}
            return {d["name"]: d["replicas"] for d in clusters.get("staging", {}).get("apps", {}).get("user", [])}
        wait_until(lambda: staging_user().get("user-v2") == 3, timeout=30, message="30% in staging: 3 new pods")
        prod = {c["name"]: c for c in get("/api/cluster")["clusters"]}["prod"]["apps"]["user"]
        assert [(d["name"], d["replicas"]) for d in prod] == [("user-v1", 10)]     # prod waits for its wave
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0 and "Traceback" not in err.decode(), err.decode()[-2000:]


@pytest.fixture
def guarded_cli(cli, tmp_path):
    """The demo apps with approvers: U0ALICE in chat and alice at a terminal approve user, and
    `channels` the CLI is never in."""
    import yaml

    path = tmp_path / "apps.yaml"
    apps = yaml.safe_load(path.read_text())
    apps["apps"]["user"].update(approvers=["U0ALICE", "cli:alice"], channels=["C0RELEASE"])
    path.write_text(yaml.safe_dump(apps, sort_keys=False))

    def run(user: str, *words: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, KUBECONFIG=str(cli.kube_env["KUBECONFIG"]), REDIS_URL=cli.kube_env["REDIS_URL"],
                   GRAYBOT_CONFIG=str(path), GRAYBOT_CLI_USER=user)
        return subprocess.run([sys.executable, "-m", "bot.cli", "release", *words], env=env,
                              capture_output=True, text=True, timeout=120)
    run.kube = cli.kube
    return run


def test_the_cli_acts_as_GRAYBOT_CLI_USER_under_the_apps_policy(guarded_cli, redis_client):
    started = guarded_cli("alice", "canary", "user-v2", "10%")
    assert started.returncode == 0, started.stderr
    release_id = redis_client.get("graybot:active:user")
    assert '"phase": "waiting"' in redis_client.get(f"graybot:release:{release_id}")
    before = redis_client.get(f"graybot:release:{release_id}")
    refused = guarded_cli("eve", "approve", "user")
    assert refused.returncode == 1 and "cli:eve is not an approver of user" in refused.stderr
    audit = redis_client.xrange(f"graybot:audit:{release_id}")
    assert audit[-1][1]["action"] == "refused" and audit[-1][1]["actor"] == "cli:eve"
    posing = guarded_cli("U0ALICE", "approve", "user")                         # a chat user's ID: not a CLI name
    assert posing.returncode == 2 and "looks like a chat user's ID" in posing.stderr
    assert redis_client.get(f"graybot:release:{release_id}") == before          # nothing changed
    assert guarded_cli.kube.deployment("default", "user-v2")["spec"]["replicas"] == 1


def test_override_policy_goes_past_a_refusal_and_is_audited(guarded_cli, redis_client):
    assert guarded_cli("alice", "canary", "user-v2", "10%").returncode == 0
    release_id = redis_client.get("graybot:active:user")
    assert '"phase": "waiting"' in redis_client.get(f"graybot:release:{release_id}")
    done = guarded_cli("eve", "--override-policy", "INC-42: Alice is out, v1 leaks memory", "--no-wait",
                       "approve", "user")
    assert done.returncode == 0, done.stderr
    audit = [fields for _, fields in redis_client.xrange(f"graybot:audit:{release_id}")]
    override = next(a for a in audit if a["action"] == "policy_override")
    assert override["actor"] == "cli:eve" and "INC-42: Alice is out, v1 leaks memory" in override["detail"]
    assert "cli:eve is not an approver of user" in override["detail"]
    assert any(a["action"] == "approve" and a["actor"] == "cli:eve" for a in audit)


def test_graybots_own_names_are_refused_as_cli_identities(guarded_cli, redis_client):
    for name in ("graybot", "scheduler"):
        refused = guarded_cli(name, "canary", "user-v2", "10%")
        assert refused.returncode == 2 and "one of graybot's own names" in refused.stderr
    assert redis_client.keys("*") == [] and guarded_cli.kube.deployment("default", "user-v2") is None


def test_what_the_cli_does_is_told_in_the_releases_thread(sandbox, kube, redis_client, tmp_path):
    from tests.kit.slack import start_slack_world, stop_slack_world

    doc = apps_yaml()
    doc["apps"]["user"].update(approvers=["U0ALICE", "cli:alice"])
    sw = start_slack_world(sandbox, kube, redis_client, tmp_path, doc)
    try:
        sw.command("canary user-v2 10%", user="U0ALICE")
        sw.wait_buttons("approve", "pause", "rollback")
        s = sw.world.core.settings
        env = dict(os.environ, KUBECONFIG=str(s.kubeconfig), REDIS_URL=s.redis_url, GRAYBOT_CONFIG=s.config_path,
                   GRAYBOT_CLI_USER="alice")
        done = subprocess.run([sys.executable, "-m", "bot.cli", "release", "--no-wait", "pause", "user"], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        wait_until(lambda: any("cli:alice paused the release" in t for t in sw.thread_texts()), timeout=20,
                   message="the CLI's pause in the thread")
        sw.wait_buttons("resume", "rollback")                       # and the live message follows
    finally:
        stop_slack_world(sw)
