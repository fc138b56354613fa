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
                                                          "approvers": ["alice"],
                                                          "gates": {"progress_deadline": "soon"}}}}))
    with pytest.raises(ConfigError) as err:
        load_registry(path)
    text = str(err.value)
    for fragment in ("Bad_Name: app names must be DNS-1123", "router: 'traefik' is not one of",
                     "image: must contain {version}", "approvers: must be a list of Slack IDs",
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
