"""Canary against stable: a canary failing 4% of requests passes a fixed 5% threshold but fails
`compare: stable` against a stable at 0%; a healthy canary passes both; the Mann-Whitney test
reads per-step samples from the sandbox's query_range over HTTP."""
from __future__ import annotations

import pytest

from bot.domain.model import Phase
from sandbox.seed import ERROR_RATE, apps_yaml
from tests.kit.world import Worlds, decide

FIXED = {"name": "error-rate", "query": ERROR_RATE.format(w="30s"), "max": 0.05}
VS_STABLE = {"name": "errors-vs-stable", "query": ERROR_RATE.format(w="30s"), "compare": "stable",
             "max_ratio": 1.5, "max_delta": 0.005}
RANKED = {"name": "errors-ranked", "query": ERROR_RATE.format(w="3s"), "compare": "stable",
          "test": "mann-whitney", "window": "10s", "step": "1s", "min_samples": 6}


@pytest.fixture
def cw(sandbox, kube, redis_client, tmp_path):
    worlds = Worlds(sandbox, kube, redis_client, tmp_path)

    def make(*metrics):
        doc = apps_yaml(metrics=True, bake="6s")
        doc["apps"]["user"]["gates"]["metrics"] = list(metrics)
        # through the Ingress: half to each version at 50%
        return worlds.under_traffic(doc, prometheus=sandbox.url)
    yield make
    worlds.stop()


def test_a_fixed_threshold_lets_a_4_percent_canary_through(cw):
    w = cw(FIXED)
    r = decide(w, "canary user-v2-errors-4 50%")
    assert r.phase == Phase.WAITING, r
    detail = [e["detail"] for e in w.store.audit(r.id) if e["action"] == "stage_healthy"][0]
    rate = float(detail.split("error-rate = ")[1].split(" ")[0])
    assert 0.005 < rate < 0.05, detail                    # it does fail requests, under the bound


def test_compare_stable_fails_the_same_canary_with_both_values(cw):
    r = decide(cw(FIXED, VS_STABLE), "canary user-v2-errors-4 50%")
    assert r.phase == Phase.ROLLED_BACK, r
    assert "errors-vs-stable: canary 0.0" in r.reason and "vs stable 0" in r.reason
    assert "above the max_ratio of 1.5" in r.reason
    assert "error-rate" not in r.reason                 # the fixed threshold alone would pass it


def test_a_healthy_canary_passes_the_fixed_and_the_compared_gate(cw):
    w = cw(FIXED, VS_STABLE)
    r = decide(w, "canary user-v2 50%")
    assert r.phase == Phase.WAITING
    detail = [e["detail"] for e in w.store.audit(r.id) if e["action"] == "stage_healthy"][0]
    assert "errors-vs-stable: canary 0 vs stable 0" in detail and "error-rate = 0 (max 0.05)" in detail


def test_mann_whitney_over_samples_fails_the_worse_canary(cw):
    r = decide(cw(RANKED), "canary user-v2-errors-20 50%")
    assert r.phase == Phase.ROLLED_BACK, r
    assert "Mann-Whitney p=" in r.reason and "canary worse" in r.reason and "samples" in r.reason
