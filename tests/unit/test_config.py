"""apps.yaml validation and `graybot check-config`."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from bot.config import ConfigError, Settings, load_registry
from bot.domain.apps import parse_registry
from sandbox.seed import apps_yaml


def test_demo_registry_loads_with_defaults():
    registry = parse_registry(apps_yaml())
    user = registry["user"]
    assert user.labels == {"app": "user"} and user.router == "replicas"
    assert user.image_for("v2") == "nginx:user-v2" and user.version_of("nginx:user-v7") == "v7"
    assert user.version_of("busybox:1") is None and user.gates.progress_deadline == 600


def test_every_problem_is_listed_at_once(tmp_path):
    path = tmp_path / "apps.yaml"
    path.write_text(yaml.safe_dump({"apps": {"Bad_Name": {"image": "x", "router": "traefik",
                                                          "approvers": ["alice smith"],
                                                          "gates": {"progress_deadline": "soon"}}}}))
    with pytest.raises(ConfigError) as err:
        load_registry(path)
    text = str(err.value)
    for fragment in ("Bad_Name: app names must be DNS-1123", "router: 'traefik' is not one of",
                     "image: must contain {version}", "approvers: must be a list of IDs",
                     "progress_deadline: 'soon' is not a duration"):
        assert fragment in text


@pytest.mark.parametrize("doc, message", [(None, "top-level 'apps:'"), ({"apps": {}}, "at least one app"),
                                          ("a: [", "not valid YAML")])
def test_empty_or_broken_files_are_refused(tmp_path, doc, message):
    path = tmp_path / "apps.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_registry(path)


def test_settings_from_env():
    s = Settings.from_env({"REDIS_URL": "redis://r:1/2", "GRAYBOT_CONFIG": "/etc/apps.yaml",
                           "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert (s.redis_url, s.config_path, s.slack_api_url, s.timezone) == (
        "redis://r:1/2", "/etc/apps.yaml", "http://127.0.0.1:9/api/", "UTC")


def test_check_config_command(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(apps_yaml()))
    bad.write_text(yaml.safe_dump({"apps": {"user": {"image": "nginx"}}}))
    ok = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(good)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "2 app(s), OK" in ok.stdout
    no = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(bad)],
                        capture_output=True, text=True)
    assert no.returncode == 1 and "must contain {version}" in no.stderr


def load_text(tmp_path, text: str):
    path = tmp_path / "apps.yaml"
    path.write_text(text)
    return load_registry(path)


APP = "apps:\n  user:\n    image: 'nginx:user-{version}'\n"


@pytest.mark.parametrize("extra,line", [
    ("    aprovers: [U0BOB]\n", "apps.user: unknown key 'aprovers'; did you mean 'approvers'?"),
    ("    channel: [C0REL]\n", "apps.user: unknown key 'channel'; did you mean 'channels'?"),
    ("    requester_can_approve: 'false'\n", "apps.user.requester_can_approve: must be true or false, not 'false'"),
    ("    gates: {auto_rollback: 'no'}\n", "apps.user.gates.auto_rollback: must be true or false, not 'no'"),
    ("    gates: {max_restart: 2}\n", "apps.user.gates: unknown key 'max_restart'; did you mean 'max_restarts'?"),
    ("    gates: {metrics: 5}\n", "apps.user.gates.metrics: must be a list"),
    ("    gates: {metrics: [{name: e, query: q, max: 'five percent'}]}\n",
     "apps.user.gates.metrics[0].max: 'five percent' is not a number"),
    ("    gates: {metrics: [{name: e, query: q, max: 1, provider: graphite}]}\n",
     "apps.user.gates.metrics[0].provider: 'graphite' is not one of prometheus, datadog, web"),
    ("    gates: {max_restarts: true}\n", "apps.user.gates.max_restarts: must be a whole number >= 0"),
    ("    workload: flagger-canary\n", "apps.user.flagger: a flagger-canary app needs `flagger: {token_secret: "),
    ("    workload: flagger-canary\n    flagger: {token_secret: 'my token'}\n",
     "apps.user.flagger.token_secret: 'my token' is not an environment variable name"),
    ("    flagger: {token_secret: FLAGGER_GATE_TOKEN}\n", "apps.user.flagger: only for `workload: flagger-canary`"),
    ("    workload: flagger-canary\n    flagger: {token: X}\n", "apps.user.flagger: unknown key 'token'"),
    ("    gitops: {policy: suspend, writeback: {repo: 'https://git.example/a/b.git'}}\n",
     "apps.user.gitops.writeback.token_secret: an HTTPS repository needs"),
    ("    gitops: {policy: hold}\n", "apps.user.gitops: must be one of refuse, suspend, ignore, not 'hold'"),
    ("    workload: argo-rollout\n    gitops: {writeback: {repo: 'git@git.example:a/b.git'}}\n",
     "apps.user.gitops.writeback: only for `workload: deployment`"),
])
def test_each_config_mistake_is_one_clear_line(tmp_path, extra, line):
    with pytest.raises(ConfigError) as err:
        load_text(tmp_path, APP + extra)
    assert any(p.startswith(line) for p in err.value.problems), err.value.problems


def test_a_key_given_twice_is_an_error_not_a_silent_replacement(tmp_path):
    with pytest.raises(ConfigError, match=r"'user' is given twice \(lines 2 and 4\)"):
        load_text(tmp_path, APP + "  user:\n    image: 'other:{version}'\n")


def test_a_misspelt_top_level_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'polcy'"):
        load_text(tmp_path, APP + "polcy: {}\n")


def run_cli(*args, env=None):
    import os
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=60)


def test_check_config_never_shows_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(APP + "    gates: {metrics: 5, bake: {a: 1}}\n    requester_can_approve: maybe\n")
    out = run_cli("check-config", str(bad))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "gates.metrics: must be a list" in out.stderr and "requester_can_approve: must be true" in out.stderr


def test_serve_refuses_to_start_with_the_same_lines_as_check_config(tmp_path):
    path = tmp_path / "apps.yaml"
    path.write_text(yaml.safe_dump(apps_yaml(metrics=True)))
    env = {"GRAYBOT_CONFIG": str(path), "SLACK_SIGNING_SECRET": "", "PROMETHEUS_URL": "",
           "REDIS_URL": "redis://127.0.0.1:1/0"}
    served = run_cli("serve", "--port", "0", env=env)
    assert served.returncode == 2 and "Traceback" not in served.stderr
    assert "SLACK_SIGNING_SECRET is not set" in served.stderr
    assert "apps.user.gates.metrics: 'error-rate' needs PROMETHEUS_URL, which is not set" in served.stderr
    checked = run_cli("check-config", str(path), env=env)
    assert checked.returncode == 1 and "'error-rate' needs PROMETHEUS_URL" in checked.stderr
    bad = tmp_path / "typo.yaml"
    bad.write_text(APP + "    aprovers: [U0BOB]\n")
    refused = run_cli("serve", env=dict(env, GRAYBOT_CONFIG=str(bad), SLACK_SIGNING_SECRET="s"))
    assert refused.returncode == 2 and "did you mean 'approvers'?" in refused.stderr


def test_ids_that_are_not_slack_ids_are_a_mistake_for_the_slack_edge(tmp_path):
    from handlers.access import slack_id_problems

    path = tmp_path / "apps.yaml"
    path.write_text(yaml.safe_dump({"apps": {"user": {"image": "x:{version}", "approvers": ["alice", "U0BOB", "S0LEADS"],
                                                      "channels": ["C0REL", "general"], "stages": {100: ["bob"]}}}}))
    registry = load_registry(path)          # any platform's IDs are fine for the registry itself
    assert slack_id_problems(registry) == [
        "apps.user.channels: must be a list of Slack channel IDs (C...), not 'general'",
        "apps.user.approvers: must be a list of Slack user or user-group IDs (U..., S...), not 'alice'",
        "apps.user.stages.100: must be a list of Slack user or user-group IDs (U..., S...), not 'bob'"]


@pytest.mark.parametrize("secret", ["REPLACE-ME", "changeme", "short"])
def test_a_placeholder_signing_secret_refuses_http_mode(tmp_path, secret):
    from bot.config import Settings, startup_problems

    path = tmp_path / "apps.yaml"
    path.write_text(yaml.safe_dump({"apps": {"user": {"image": "x:{version}"}}}))
    problems = startup_problems(Settings(slack_signing_secret=secret), load_registry(path), slack_http=True)
    assert problems and "SLACK_SIGNING_SECRET is a placeholder" in problems[0]
    assert startup_problems(Settings(slack_signing_secret="8f14e45fceea167a5a36dedd4bea2543"), load_registry(path),
                            slack_http=True) == []


def test_a_write_back_without_its_token_or_key_in_the_environment_is_a_start_problem(tmp_path, monkeypatch):
    from bot.config import Settings, startup_problems

    registry = load_text(tmp_path, APP + "    gitops:\n      writeback: {repo: 'https://git.example/a/b.git', "
                         "token_secret: GIT_TOKEN}\n  pay:\n    image: 'nginx:pay-{version}'\n    gitops:\n"
                         "      writeback: {repo: 'git@git.example:a/b.git', ssh_key_file: /nonexistent/key}\n")
    monkeypatch.delenv("GIT_TOKEN", raising=False)
    assert startup_problems(Settings(), registry) == [
        "apps.user.gitops.writeback.token_secret: GIT_TOKEN is not set (or is a placeholder): graybot could not "
        "push a successful release to Git",
        "apps.pay.gitops.writeback.ssh_key_file: /nonexistent/key is not a file"]


def test_a_flagger_app_without_its_token_in_the_environment_is_a_start_problem(tmp_path, monkeypatch):
    from bot.config import Settings, flagger_tokens, startup_problems

    registry = load_text(tmp_path, APP + "    workload: flagger-canary\n    flagger: {token_secret: GATE_TOKEN}\n")
    monkeypatch.delenv("GATE_TOKEN", raising=False)
    assert startup_problems(Settings(), registry) == [
        "apps.user.flagger.token_secret: GATE_TOKEN is not set (or is a placeholder): every request of its "
        "Canary's webhooks would be refused"]
    monkeypatch.setenv("GATE_TOKEN", "4f1c2a9e77d04b1b")
    assert startup_problems(Settings(), registry) == [] and flagger_tokens(registry) == {"user": "4f1c2a9e77d04b1b"}
