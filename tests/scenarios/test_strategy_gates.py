"""Gates that fit the strategy: blue/green is judged after its switch (and switches back by
itself when green fails there), an A/B segment gets gate data from segment traffic, and too few
requests to the new version is said plainly instead of judged."""
from __future__ import annotations

import pytest

from bot.domain.model import Phase
from sandbox.seed import REQUESTS, apps_yaml
from tests.kit.world import NS, Worlds, rested


@pytest.fixture
def sw(sandbox, kube, redis_client, tmp_path):
    worlds = Worlds(sandbox, kube, redis_client, tmp_path)

    def make(segment: dict | None = None, min_requests: int = 0, router: str = "replicas"):
        doc = apps_yaml(metrics=True, bake="3s")
        doc["apps"]["user"]["router"] = router
        if min_requests:
            doc["apps"]["user"]["gates"].update(requests=REQUESTS.format(w="30s"), min_requests=min_requests)
        sandbox.generator.segment, sandbox.generator.segment_share = segment, 0.3
        return worlds.under_traffic(doc, prometheus=sandbox.url)
    yield make
    worlds.stop()


def test_blue_green_with_the_error_gate_switches_and_completes_without_a_continue(sw):
    w = sw()
    r = rested(w, w.start("bluegreen user-v2").id)
    assert (r.phase, r.current.name) == (Phase.WAITING, "green ready")
    for _ in range(2):
        w.act("approve user")
        r = rested(w, r.id)
    assert w.store.history("user")[0].phase == Phase.SUCCEEDED
    actions = [e["action"] for e in w.store.audit(r.id)]
    assert "gate_inconclusive" not in actions and "override" not in actions
    healthy = [e["detail"] for e in w.store.audit(r.id) if e["action"] == "stage_healthy"]
    assert "by design" in healthy[0] and "error-rate = 0 (max 0.05)" in healthy[1]   # judged after the switch


def test_blue_green_switches_back_by_itself_when_green_fails_after_the_switch(sw):
    w = sw()
    r = rested(w, w.start("bluegreen user-v2-errors-20").id)
    w.act("approve user")                                         # the switch
    r = rested(w, r.id)
    assert r.phase == Phase.ROLLED_BACK and "error-rate = 0." in r.reason and "above the max" in r.reason
    assert w.selector("user") == {"app": "user"} and w.kube.deployment(NS, "user-v2-errors-20") is None
    assert w.pods_by_image("user") == {"nginx:user-v1": 10}            # blue serves alone again


def test_an_ab_segment_gets_gate_data_from_segment_traffic(sw):
    w = sw(segment={"headers": {"role": "test"}}, min_requests=20, router="nginx")
    r = rested(w, w.start("ab user-v2 header:role=test").id)
    assert r.phase == Phase.WAITING, r.reason
    healthy = [e["detail"] for e in w.store.audit(r.id) if e["action"] == "stage_healthy"]
    assert "error-rate = 0 (max 0.05)" in healthy[0]


def test_too_few_requests_to_the_segment_says_so_and_offers_the_ways_on(sw):
    w = sw(segment=None, min_requests=20, router="nginx")
    r = rested(w, w.start("ab user-v2 header:role=test").id)
    assert r.phase == Phase.PAUSED and r.last_action == "gate_inconclusive"
    assert "only 0 requests reached v2 (the metric gates need 20)" in r.reason and "continue" in r.reason, r.reason
