"""The Datadog and web metric providers, end to end against the sandbox's Datadog-shaped query
API and its JSON stats endpoint over HTTP (simulated traffic through the Ingress)."""
from __future__ import annotations

import pytest

from bot.domain.model import Phase
from bot.gates.datadog import Datadog
from bot.gates import ProviderError
from sandbox.seed import apps_yaml
from tests.kit.world import Worlds, decide

DD_ERRORS = ("sum:sandbox.requests{app:{app},version:{version},code:5*}.as_count() / "
             "sum:sandbox.requests{app:{app},version:{version}}.as_count()")


@pytest.fixture
def pw(sandbox, kube, redis_client, tmp_path):
    worlds = Worlds(sandbox, kube, redis_client, tmp_path)

    def make(metric: dict):
        doc = apps_yaml(metrics=True, bake="4s")
        doc["apps"]["user"]["gates"]["metrics"] = [metric]
        return worlds.under_traffic(doc, datadog_url=sandbox.url + "/datadog",
                                    datadog_api_key="dd-api", datadog_app_key="dd-app")
    yield make
    worlds.stop()


def test_datadog_rolls_back_a_failing_canary_and_passes_a_healthy_one(pw, sandbox):
    metric = {"name": "dd-errors", "provider": "datadog", "query": DD_ERRORS, "max": 0.05}
    w = pw(metric)
    bad = decide(w, "canary user-v2-errors-20 50%")
    assert bad.phase == Phase.ROLLED_BACK and "dd-errors = 0." in bad.reason and "above the max of 0.05" in bad.reason
    good = decide(w, "canary user-v3 50%")
    assert good.phase == Phase.WAITING
    assert "dd-errors = 0 (max 0.05)" in [e["detail"] for e in w.store.audit(good.id)
                                          if e["action"] == "stage_healthy"][0]


def test_datadog_keys_are_required_by_the_api_and_by_the_provider(sandbox):
    import urllib3
    resp = urllib3.PoolManager().request("GET", sandbox.url + "/datadog/api/v1/query",
                                         fields={"from": "0", "to": "60", "query": "sum:sandbox.requests{*}"})
    assert resp.status == 403
    with pytest.raises(ProviderError, match="DATADOG_API_KEY"):
        Datadog(sandbox.url + "/datadog", api_key="", app_key="k").value("sum:sandbox.requests{*}")


def test_the_web_provider_reads_a_number_by_json_path(pw, sandbox):
    url = sandbox.url + "/sandbox/metrics?app={app}&version={version}&window=30#error_rate"
    w = pw({"name": "web-errors", "provider": "web", "query": url, "max": 0.05})
    bad = decide(w, "canary user-v2-errors-20 50%")
    assert bad.phase == Phase.ROLLED_BACK and "web-errors = 0." in bad.reason
