"""Two sandbox clusters, `staging` and `prod`, each seeded with the demo apps, in one kubeconfig
with a context each (as a platform team's kubeconfig is), and an apps.yaml whose `clusters:`
section names both: `user` runs in both (waves staging, prod); `pay` runs in staging only."""
from __future__ import annotations

import dataclasses

import yaml
from kubernetes import client, config

from bot.adapters.kube import Kube
from bot.domain.model import Phase
from sandbox.cluster import Sandbox, write_kubeconfig
from sandbox.pods import Timing
from sandbox.seed import apps_yaml, seed_demo

from .slack import FakeSlack, SlackWorld, slack_settings, slack_world_over
from .wait import wait_until
from .world import World, build_world


def two_cluster_doc(kubeconfig: str, **user) -> dict:
    doc = apps_yaml()
    doc["clusters"] = {"staging": {"kubeconfig": kubeconfig, "context": "staging"},
                       "prod": {"kubeconfig": kubeconfig, "context": "prod"}}
    doc["apps"]["user"].update(dict(dict(clusters=["staging", "prod"], waves=["staging", "prod"]), **user))
    doc["apps"]["pay"].update(clusters=["staging"])
    return doc


@dataclasses.dataclass
class TwoClusters:
    world: World
    staging: Sandbox
    prod: Sandbox

    def kube(self, cluster: str) -> Kube:
        return self.world.core.clusters[cluster]

    def replicas(self, cluster: str, name: str) -> int | None:
        d = self.kube(cluster).deployment("default", name)
        return None if d is None else d["spec"]["replicas"]

    def ready(self, cluster: str, name: str) -> int:
        d = self.kube(cluster).deployment("default", name)
        return 0 if d is None else (d.get("status") or {}).get("readyReplicas", 0)


def start_prod(timing: Timing) -> Sandbox:
    prod = Sandbox(timing=dataclasses.replace(timing)).start()
    seed_demo(prod.store)
    return prod


def two_cluster_world(staging: Sandbox, prod: Sandbox, redis_client, tmp_path, user: dict | None = None,
                      specs: dict | None = None, apps: dict | None = None, **settings) -> TwoClusters:
    """`staging` is the suite's `sandbox` fixture (its demo seed is made by build_world); `specs`:
    more keys of each cluster's entry in `clusters:` (for example its own `prometheus:`)."""
    kubeconfig = write_kubeconfig(tmp_path / "clusters.kubeconfig", {"staging": staging, "prod": prod})
    doc = two_cluster_doc(kubeconfig.name, **(user or {}))
    doc["apps"].update(apps or {})                      # more apps (e.g. an Argo Rollout in both)
    for name, extra in (specs or {}).items():
        doc["clusters"][name].update(extra)
    world = build_world(staging, _api(kubeconfig, "staging"), redis_client, tmp_path, doc, **settings)
    world.apps = client.AppsV1Api(_api(kubeconfig, "staging"))
    both = TwoClusters(world, staging, prod)
    wait_until(lambda: all(both.ready(c, "user-v1") == 10 and both.ready(c, "pay-v1") == 3
                           for c in ("staging", "prod")), message="both clusters' demo seed ready")
    return both


def _api(kubeconfig, context: str) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig), context=context)


def write_doc(both: TwoClusters, doc: dict) -> None:
    both.world.config_path.write_text(yaml.safe_dump(doc, sort_keys=False))


def slack_over_two(staging: Sandbox, prod: Sandbox, redis_client, tmp_path, user: dict | None = None,
                   apps: dict | None = None, **settings) -> SlackWorld:
    """graybot in HTTP mode over the two clusters, with the fake Slack; `.both` is the TwoClusters."""
    slack = FakeSlack().start()
    both = two_cluster_world(staging, prod, redis_client, tmp_path, user, apps=apps, leader_ttl=3,
                             **slack_settings(slack), **settings)
    sw = slack_world_over(both.world, slack)
    sw.both = both
    return sw


def at(store, app: str, wave: int, stage: int, phase=Phase.WAITING, timeout: float = 40):
    """The app's active release once it is at this wave, stage and phase."""
    return wait_until(lambda: (r := store.active_for(app)) and (r.wave, r.stage, r.phase) == (wave, stage, phase)
                      and r, timeout=timeout, message=f"{app} at wave {wave} stage {stage} {phase.value}")
