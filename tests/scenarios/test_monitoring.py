"""manifests/monitoring against a real Prometheus (Debian's, installed by ./run) scraping a real
`graybot serve`: promtool accepts the rules, every alert and dashboard expression evaluates,
every graybot metric they name is exported, no alert fires while graybot is healthy, and
GraybotDown goes pending when graybot is killed."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import urllib3
import yaml

from sandbox.slack import FakeSlack, slash_command_body
from tests.kit.processes import Bots
from tests.kit.wait import free_port, wait_until
from tests.kit.world import demo_world

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "manifests" / "monitoring"
METRIC = re.compile(r"\b(graybot_[a-z_]+)")


def rule_groups() -> dict:
    doc = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule"
    return doc["spec"]                              # a plain Prometheus rule file


def rules() -> list[dict]:
    return [rule for group in rule_groups()["groups"] for rule in group["rules"]]


def panel_queries() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and dashboard["uid"] == "graybot"
    assert all(p["datasource"]["uid"] == "${datasource}" for p in dashboard["panels"])
    # Grafana's own variable, as Grafana would substitute it
    return [t["expr"].replace("$__rate_interval", "1m") for p in dashboard["panels"] for t in p["targets"]]


def tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        pytest.fail(f"{name} is missing: ./run test installs Debian's prometheus")
    return found


def test_promtool_accepts_the_rules(tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_groups()))
    out = subprocess.run([tool("promtool"), "check", "rules", str(tmp_path / "rules.yaml")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and f"SUCCESS: {len(rules())} rules found" in out.stdout, out.stdout + out.stderr
    assert {r["alert"] for r in rules()} >= {"GraybotDown", "GraybotNoLeader", "GraybotReleaseWaitingPastTimeout",
                                             "GraybotRollbackRate", "GraybotClusterUnreachable",
                                             "GraybotSlackErrors", "GraybotInboxBacklog"}


class Prometheus:
    def __init__(self, tmp: Path, target: str):
        self.port, self.http = free_port(), urllib3.PoolManager()
        (tmp / "rules.yaml").write_text(yaml.safe_dump(rule_groups()))
        (tmp / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(tmp / "rules.yaml")],
            "scrape_configs": [{"job_name": "graybot", "static_configs": [{"targets": [target]}]}]}))
        self.proc = subprocess.Popen([tool("prometheus"), f"--config.file={tmp / 'prometheus.yml'}",
                                      f"--storage.tsdb.path={tmp / 'data'}",
                                      f"--web.listen-address=127.0.0.1:{self.port}"],
                                     stdout=open(tmp / "prometheus.log", "w"), stderr=subprocess.STDOUT)

    def get(self, path: str, **fields) -> dict:
        resp = self.http.request("GET", f"http://127.0.0.1:{self.port}{path}", fields=fields, timeout=5,
                                 retries=False)
        return json.loads(resp.data)

    def query(self, expr: str) -> dict:
        return self.get("/api/v1/query", query=expr)

    def alerts(self) -> dict[str, str]:
        return {a["labels"]["alertname"]: a["state"] for a in self.get("/api/v1/alerts")["data"]["alerts"]}

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def _up(prom: Prometheus, value: str) -> bool:
    try:
        result = prom.query('up{job="graybot"}')["data"]["result"]
    except (urllib3.exceptions.HTTPError, json.JSONDecodeError):
        return False
    return bool(result) and result[0]["value"][1] == value


@pytest.fixture
def scraped(sandbox, kube, redis_client, redis_url, tmp_path):
    slack = FakeSlack().start()
    bots = Bots(demo_world(sandbox, kube, redis_client, tmp_path), slack, redis_url, tmp_path)
    bots.start()
    (tmp_path / "prom").mkdir()
    prom = Prometheus(tmp_path / "prom", bots.url.removeprefix("http://"))
    yield bots, prom
    prom.stop()
    bots.stop_all()
    slack.stop()


def test_every_expression_evaluates_against_graybots_own_metrics_and_down_is_seen(scraped):
    bots, prom = scraped
    assert bots.post(slash_command_body("canary user-v2 10%", "U0ALICE")).status == 200
    wait_until(lambda: _up(prom, "1"), timeout=30, message="Prometheus scrapes graybot")
    wait_until(lambda: prom.query('graybot_leader{job="graybot"}')["data"]["result"], timeout=30,
               message="the leader gauge scraped")
    exported = urllib3.PoolManager().request("GET", bots.url + "/metrics", timeout=5).data.decode()
    expressions = [r["expr"] for r in rules()] + panel_queries()
    for expr in expressions:
        answer = prom.query(expr)
        assert answer["status"] == "success", (expr, answer)
        for name in METRIC.findall(expr):
            family = re.sub(r"_bucket$", "", name)
            assert f"# TYPE {family} " in exported, f"{name} (in {expr!r}) is not exported by graybot"
    # before the first scrape `absent(up)` held: GraybotDown may be pending until the rules run again
    seen: list = []
    try:
        wait_until(lambda: seen.append(prom.alerts()) or seen[-1] == {}, timeout=30, message="no alert")
    except AssertionError:
        raise AssertionError(f"alerts while graybot is healthy: {seen[-1]}") from None
    bots.stop_all()                                           # every graybot process SIGKILLed
    wait_until(lambda: _up(prom, "0"), timeout=30, message="Prometheus sees graybot down")
    alerts = wait_until(lambda: prom.alerts() or None, timeout=30, message="an alert")
    assert alerts == {"GraybotDown": "pending"}, alerts        # and not "no leader" besides
