"""The commands of several clusters against two sandbox clusters: `plan` shows every wave's pod and
weight math and writes nothing; `--cluster` runs in one cluster only; names that do not fit are
refused with the reason and change nothing; `status --cluster`; `check-config` lists every
cluster problem at once."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from bot.core import service
from bot.core.handback import HandBack
from bot.domain.model import Phase
from tests.kit.clusters import two_cluster_doc, two_cluster_world
from tests.kit.wait import free_port, wait_until


@pytest.fixture
def both(sandbox, prod, redis_client, tmp_path):
    world = two_cluster_world(sandbox, prod, redis_client, tmp_path,
                              user={"clusters": {"staging": {}, "prod": {"replicas": 4}}})
    yield world
    world.world.stop()


def run(both, line: str):
    return service.run_text(both.world.engine, line, "U0ALICE")


def test_plan_shows_every_wave_and_writes_nothing(both):
    reply = run(both, "plan canary user-v2 10%")
    assert reply.ok, reply.text
    lines = reply.text.splitlines()
    staging, prod = lines.index(next(l for l in lines if "wave 1: staging" in l)), \
        lines.index(next(l for l in lines if "wave 2: prod" in l))
    assert "10 replicas" in lines[staging] and "4 replicas" in lines[prod]
    assert "new   1 / old   9" in lines[staging + 1] and "new   1 / old   4" in lines[prod + 1]
    assert "when a person approves it" in reply.text
    assert both.prod.server.writes == [] and both.replicas("staging", "user-v2") is None
    assert both.world.store.active_for("user") is None


def test_cluster_runs_one_cluster_only(both):
    reply = run(both, "canary user-v2 50% --cluster prod")
    assert reply.ok, reply.text
    release = both.world.engine.settle(both.world.store.active_for("user").id)
    assert (release.phase, release.cluster, release.in_waves) == (Phase.WAITING, "prod", False)
    assert both.replicas("prod", "user-v2") == 2 and both.replicas("staging", "user-v2") is None
    status = run(both, "status user --cluster prod")
    assert status.ok and "in prod" in status.text
    assert "waiting at 50% in prod (by U0ALICE" in run(both, "list").text
    assert not run(both, "status user --cluster staging").ok
    refused = run(both, "rollback user --all-waves")            # one cluster: nothing to undo in waves
    assert not refused.ok and "runs in one cluster; plain rollback undoes it" in refused.text
    assert both.world.store.active_for("user").version == release.version


@pytest.mark.parametrize("line, said", [
    ("canary pay-v2 --cluster prod", "pay does not run in prod; it runs in staging"),
    ("canary user-v2 --cluster moon", "unknown cluster 'moon'; clusters: staging, prod"),
    ("canary user-v2 --waves prod,moon", "unknown cluster 'moon'"),
])
def test_clusters_that_do_not_fit_are_refused_and_change_nothing(both, line, said):
    reply = run(both, line)
    assert not reply.ok and said in reply.text
    assert both.world.store.active_for(line.split()[1].split("-")[0]) is None
    assert both.prod.server.writes == []


def test_an_app_in_two_clusters_without_waves_must_say_where(both, tmp_path):
    doc = yaml.safe_load(both.world.config_path.read_text())
    del doc["apps"]["user"]["waves"]
    both.world.config_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    from bot.config import load_registry
    both.world.engine.planner.registry = both.world.engine.registry = load_registry(both.world.config_path)
    reply = run(both, "canary user-v2")
    assert not reply.ok and "say which with --cluster NAME, or --waves staging,prod" in reply.text


def test_check_config_lists_every_cluster_problem_at_once(both, tmp_path):
    doc = two_cluster_doc(str(tmp_path / "clusters.kubeconfig"))
    doc["apps"]["user"]["clusters"] = {"staging": {}, "prod": {"namespace": "shop"}}
    doc["clusters"]["dr"] = {"kubeconfig": str(tmp_path / "dr.kubeconfig")}
    doc["clusters"]["lost"] = {"kubeconfig": str(tmp_path / "clusters.kubeconfig"), "context": "nowhere"}
    (tmp_path / "dr.kubeconfig").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "dr",
        "clusters": [{"name": "dr", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "dr", "context": {"cluster": "dr", "user": "u"}}]}))
    path = tmp_path / "check.yaml"
    path.write_text(yaml.safe_dump(doc))
    env = {"GRAYBOT_KUBE_CONNECT_TIMEOUT": "1", "GRAYBOT_KUBE_READ_TIMEOUT": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(path)], capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "apps.user in prod: no running Deployment matches {'app': 'user'} in namespace shop" in out.stderr
    assert "clusters.dr (" in out.stderr and "does not answer" in out.stderr
    assert "clusters.lost (" in out.stderr and "nowhere" in out.stderr
    del doc["clusters"]["dr"], doc["clusters"]["lost"]
    doc["apps"]["user"]["clusters"] = ["staging", "prod"]
    path.write_text(yaml.safe_dump(doc))
    good = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(path)], capture_output=True,
                          text=True, timeout=60, env=env)
    assert good.returncode == 0, good.stderr
    assert "user: namespace default" in good.stdout and "clusters staging, prod" in good.stdout


def test_a_wave_is_gated_by_its_own_clusters_prometheus(sandbox, prod, redis_client, tmp_path):
    from sandbox.seed import error_rate_metric
    both = two_cluster_world(sandbox, prod, redis_client, tmp_path, user={"gates": {"metrics": [error_rate_metric()]}},
                             specs={"staging": {"prometheus": sandbox.url}, "prod": {"prometheus": prod.url}})
    engine = both.world.engine
    assert engine.metrics.per_cluster.keys() == {"staging", "prod"}
    reply = service.run_text(engine, "canary user-v2 50% --cluster prod", "U0ALICE")
    assert reply.ok, reply.text
    release = engine.settle(both.world.store.active_for("user").id, timeout=30)
    assert release.phase == Phase.PAUSED and "no data" in release.reason      # no traffic in these sandboxes
    assert prod.server.paths.get("/api/v1/query", 0) > 0                       # asked prod's Prometheus ...
    assert sandbox.server.paths.get("/api/v1/query", 0) == 0                   # ... never staging's


def test_one_health_watch_per_cluster_and_namespace(sandbox, prod, redis_client, tmp_path):
    from bot.runtime.runner import health_watcher
    both = two_cluster_world(sandbox, prod, redis_client, tmp_path,
                             user={"clusters": {"staging": {}, "prod": {"namespace": "shop"}}})
    watcher = health_watcher(both.world.engine, lambda: None)
    assert watcher.places() == [("prod", "shop"), ("staging", "default")]


def test_gitops_suspend_per_wave_and_a_hand_back_for_each_cluster(sandbox, prod, redis_client, tmp_path):
    from tests.kit.gitops import AUTOMATED, automated, managed_by
    both = two_cluster_world(sandbox, prod, redis_client, tmp_path, user={"gitops": "suspend"})
    argo = {c: managed_by(both.kube(c).api, "argocd") for c in ("staging", "prod")}
    engine, told = both.world.engine, []
    engine.listeners.append(lambda release, what, detail: told.append((release.cluster, what)))
    assert run(both, "canary user-v2 --steps 50,100").ok
    release = engine.settle(both.world.store.active_for("user").id)
    assert automated(argo["staging"]) is None and automated(argo["prod"]) == AUTOMATED   # prod: not yet
    for _ in range(2):                      # to 100% in staging, then into prod
        run(both, "approve user")
        release = engine.settle(release.id)
    assert (release.wave, release.stage) == (1, 0)
    assert automated(argo["staging"]) is None and automated(argo["prod"]) is None
    run(both, "approve user")
    done = engine.settle(release.id)
    assert done.phase == Phase.SUCCEEDED
    assert automated(argo["staging"]) is None and automated(argo["prod"]) is None   # held until Git has it
    assert sorted(c for c, what in told if what == "gitops_handback") == ["prod", "staging"]
    assert sorted(c for c, what in told if what == "gitops_held") == ["prod", "staging"]
    for cluster in ("staging", "prod"):      # each cluster's Git overlay committed: user-v2 in, user-v1 out
        git = {"staging": sandbox, "prod": prod}[cluster].gitops
        git.commit(("apps", "deployments"), "default", "user-v2")
        git.remove(("apps", "deployments"), "default", "user-v1")
    wait_until(lambda: HandBack(engine).round() >= 0 and automated(argo["staging"]) == AUTOMATED
               and automated(argo["prod"]) == AUTOMATED, timeout=15, message="both handed back")   # both restored
    assert not both.world.store.gitops_pending()
    staging = run(both, "gitops-diff user --cluster staging")
    assert staging.ok and staging.release.cluster == "staging" and "name: user-v2" in staging.text
    assert not run(both, "gitops-diff user --cluster moon").ok
