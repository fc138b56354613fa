"""The strategy contract: one suite over every name in bot.domain.names.STRATEGIES (a new strategy
gets it by adding its command line below): a plan changes nothing; the first stage reaches a
resting phase on the cluster; approving every stage ends with only the new version serving; a
rollback from the first stage puts the cluster back exactly as it was."""
from __future__ import annotations

import pytest
from kubernetes import client

from bot.domain.model import Phase
from bot.domain.names import CONTROLLER_STRATEGY, STRATEGIES
from sandbox.seed import apps_yaml
from strategies import build
from tests.kit.wait import wait_until
from tests.kit.world import NS, demo_world

LINES = {
    "canary": "canary user-v2 10%",
    "ab": "ab user-v2 header:x-canary=1 --router nginx",
    "bluegreen": "bluegreen user-v2",
    "rolling": "rolling user-v2 --max-surge 2",
    "recreate": "recreate user-v2",
    "batch": "batch user-v2 --batches 2 --manual",
}


@pytest.fixture(params=STRATEGIES)
def strategy(request):
    return request.param


@pytest.fixture
def world(sandbox, kube, redis_client, tmp_path):
    w = demo_world(sandbox, kube, redis_client, tmp_path, apps_yaml())
    yield w
    w.stop()


def cluster_picture(w) -> dict:
    """What a person would check: Deployments (replicas, image), Services' selectors, Ingresses."""
    deployments = {d["metadata"]["name"]: (d["spec"]["replicas"],
                                           d["spec"]["template"]["spec"]["containers"][0]["image"])
                   for d in w.kube.deployments(NS, {"app": "user"})}
    services = {s.metadata.name: s.spec.selector for s in w.core_api.list_namespaced_service(NS).items}
    net = client.NetworkingV1Api(w.core_api.api_client)
    ingresses = sorted(i.metadata.name for i in net.list_namespaced_ingress(NS).items)
    return {"deployments": deployments, "services": services, "ingresses": ingresses}


def test_every_listed_strategy_is_built_and_has_a_line():
    assert tuple(build({})) == STRATEGIES + (CONTROLLER_STRATEGY,)     # the last for controllers' own steps
    assert set(LINES) == set(STRATEGIES)


def test_plan_changes_nothing(world, strategy, redis_client):
    before = cluster_picture(world)
    plan = world.start("plan " + LINES[strategy])
    assert plan.phase == Phase.PENDING and plan.stages and plan.strategy == strategy
    assert cluster_picture(world) == before and redis_client.keys("graybot:release:*") == []


def test_approving_every_stage_leaves_only_the_new_version(world, strategy):
    r = world.engine.settle(world.start(LINES[strategy]).id, timeout=60)
    while r.phase == Phase.WAITING:
        world.act("approve user")
        r = world.engine.settle(r.id, timeout=60)
    assert r.phase == Phase.SUCCEEDED, (r.phase, r.reason)
    # the old pods go with the garbage collector, after their Deployment (asynchronous, as in k8s)
    wait_until(lambda: world.pods_by_image("user") == {"nginx:user-v2": 10}, timeout=20, message="old pods gone")
    assert world.kube.service(NS, "user-v2") is None and world.kube.ingress(NS, "user-canary") is None


def test_rollback_right_after_the_start_restores_the_cluster(world, strategy):
    before = cluster_picture(world)
    r = world.start(LINES[strategy])
    world.act("rollback user")            # while the first stage is still being applied
    r = world.engine.settle(r.id, timeout=60)
    assert r.phase == Phase.ROLLED_BACK, (r.phase, r.reason)
    assert cluster_picture(world) == before
    assert world.pods_by_image("user") == {"nginx:user-v1": 10}
