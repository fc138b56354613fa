"""Living with GitOps, against the sandbox's simulated Argo CD and Flux over HTTP: refused by
default when the controller would revert, suspended and restored exactly with `gitops: suspend`
(after success, after rollback, and when another process finishes the release), and a revert
under `gitops: ignore` pauses the release naming the manager."""
from __future__ import annotations

import json

import urllib3
import yaml

from bot.core.handback import HandBack
from bot.core.service import run_text
from bot.domain.model import Phase
from sandbox.seed import apps_yaml
from tests.kit.gitops import AUTOMATED, FLUX, FLUX_SOURCE, automated, managed_by
from tests.kit.wait import wait_until
from tests.kit.world import NS, another_process, demo_world

def world_for(sandbox, kube, redis_client, tmp_path, policy: str | None):
    doc = apps_yaml()
    if policy:
        doc["apps"]["user"]["gitops"] = policy
    doc["apps"]["user"]["webhooks"] = {"gitops": [{"url": sandbox.url + "/sandbox/smoke?service=user&n=1"}]}
    return demo_world(sandbox, kube, redis_client, tmp_path, doc)


def flux_kustomization(kube):
    from kubernetes import client
    objects = client.CustomObjectsApi(kube)
    return lambda: objects.get_namespaced_custom_object(*FLUX[:2], "flux-system", FLUX[2], "apps")["spec"]


def kustomization_status(kube) -> dict:
    from kubernetes import client
    return client.CustomObjectsApi(kube).get_namespaced_custom_object(*FLUX[:2], "flux-system", FLUX[2],
                                                                      "apps").get("status") or {}


def flux_revision(kube) -> str:
    from kubernetes import client
    repo = client.CustomObjectsApi(kube).get_namespaced_custom_object(*FLUX_SOURCE[:2], "flux-system",
                                                                      FLUX_SOURCE[2], "apps")
    return ((repo.get("status") or {}).get("artifact") or {}).get("revision", "")


def world_for_file(w):
    """The same world, its apps.yaml read again (as a restarted bot reads it)."""
    from bot.config import load_registry
    w.core.registry.clear()
    w.core.registry.update(load_registry(w.config_path))
    return w


def to_the_end(w, r):
    while (r := w.engine.settle(r.id, timeout=30)).phase == Phase.WAITING:
        w.act("approve user")
    return w.store.history("user")[0]


def test_with_self_heal_and_no_policy_a_canary_is_refused_and_nothing_changes(sandbox, kube, redis_client, tmp_path):
    w = world_for(sandbox, kube, redis_client, tmp_path, None)
    managed_by(kube, "argocd")
    reply = run_text(w.engine, "canary user-v2 10%", "U_ALICE")
    assert not reply.ok
    assert "Deployment user-v1 is managed by Argo CD Application argocd/user" in reply.text
    assert "gitops: suspend" in reply.text and "gitops: ignore" in reply.text
    assert w.kube.deployment(NS, "user-v2") is None and w.replicas("user-v1") == 10
    assert not run_text(w.engine, "plan canary user-v2 10%", "U_ALICE").ok     # plan says it too


def test_suspend_carries_a_canary_to_100_and_restores_self_heal(sandbox, kube, redis_client, tmp_path):
    w = world_for(sandbox, kube, redis_client, tmp_path, "suspend")
    objects = managed_by(kube, "argocd")
    wait_until(lambda: sandbox.gitops.seen, timeout=5)                  # the controller has read "Git"
    r = w.engine.settle(w.start("canary user-v2 10%").id)
    held = (("apps", "deployments"), NS, "user-v1")
    wait_until(lambda: held in sandbox.gitops.held, timeout=10, message="drift older than the controller's delay")
    assert automated(objects) is None and w.replicas("user-v1") == 9    # nobody put 10 back
    assert any(e["action"] == "gitops_suspended" for e in w.store.audit(r.id))
    heard = []
    w.engine.listeners.append(lambda rel, what, detail: what == "gitops_handback" and heard.append(detail))
    done = to_the_end(w, r)
    assert done.phase == Phase.SUCCEEDED and w.replicas("user-v2") == 10
    assert heard and "name: user-v2" in heard[0]                        # said in the release's thread
    assert automated(objects) is None           # Git still holds user-v1: self-heal would bring it back
    held = [e["detail"] for e in w.store.audit(done.id) if e["action"] == "gitops_held"]
    assert held and "reconciliation stays suspended until Git holds the release" in held[0]
    handback = run_text(w.engine, "gitops-diff user", "U_ALICE")          # what Git must now hold
    deploy, service = yaml.safe_load_all(handback.text)
    live = w.kube.deployment(NS, "user-v2")
    assert deploy["spec"]["replicas"] == live["spec"]["replicas"] == 10
    assert deploy["spec"]["template"]["spec"]["containers"] == [
        {"name": c["name"], "image": c["image"]} for c in live["spec"]["template"]["spec"]["containers"]]
    assert service["spec"]["selector"] == w.selector("user") and "delete Deployment user-v1" in handback.text
    notes = [e for e in w.store.audit(done.id) if e["action"] == "webhook"]
    assert notes and notes[-1]["detail"].startswith("pass: gitops webhook")         # the CI job got it too
    (call,) = [c for c in json.loads(urllib3.PoolManager().request("GET", sandbox.url + "/sandbox/webhooks").data)["calls"]
               if c["body"]["kind"] == "gitops"]
    assert call["body"]["handback"]["deployment"]["name"] == "user-v2"
    lagging = lambda: run_text(w.engine, "status user", "U_ALICE").text   # noqa: E731
    wait_until(lambda: "succeeded, Git not yet updated: Argo CD Application argocd/user is OutOfSync" in lagging()
               and "reconciliation stays suspended until Git holds the release" in lagging(),
               timeout=10, message="status says Git lags")
    assert HandBack(w.engine).round() == 0 and automated(objects) is None
    http = urllib3.PoolManager()
    committed = http.request(                    # a CI job commits the snippet: user-v2 in, user-v1 out
        "POST", sandbox.url + f"/sandbox/git/commit?kind=deployments&namespace={NS}&name=user-v2")
    removed = http.request("POST", sandbox.url + f"/sandbox/git/remove?kind=deployments&namespace={NS}&name=user-v1")
    assert (committed.status, removed.status) == (200, 200)
    wait_until(lambda: HandBack(w.engine).round() == 1, timeout=10, message="Git caught up: handed back")
    assert automated(objects) == AUTOMATED                              # exactly as it was
    assert "Git not yet updated" not in lagging() and not sandbox.gitops.recreated
    assert w.kube.deployment(NS, "user-v1") is None                     # and the old version stays gone


def test_self_heal_back_on_while_git_holds_the_old_version_re_creates_it(sandbox, kube, redis_client, tmp_path):
    """Why graybot waits for Git: the sandbox's Argo CD puts back what Git holds, deleted or not."""
    world_for(sandbox, kube, redis_client, tmp_path, None)
    managed_by(kube, "argocd")
    wait_until(lambda: sandbox.gitops.seen, timeout=5)
    from kubernetes import client
    client.AppsV1Api(kube).delete_namespaced_deployment("user-v1", NS)
    wait_until(lambda: sandbox.gitops.recreated, timeout=10, message="re-created from Git")
    assert client.AppsV1Api(kube).read_namespaced_deployment("user-v1", NS).spec.replicas == 10


def test_suspend_is_restored_after_a_rollback_and_by_another_process(sandbox, kube, redis_client, tmp_path):
    w = world_for(sandbox, kube, redis_client, tmp_path, "suspend")
    objects = managed_by(kube, "argocd")
    r = w.engine.settle(w.start("canary user-v2 30%").id)
    assert automated(objects) is None
    other = another_process(w)                                          # this one stops; another ends it
    other.engine.act(w.cmd("rollback user"), "U_ALICE")
    done = other.engine.settle(r.id, timeout=30)
    assert done.phase == Phase.ROLLED_BACK and automated(objects) == AUTOMATED
    assert w.replicas("user-v1") == 10 and w.kube.deployment(NS, "user-v2") is None


def test_flux_suspend_uses_the_reconcile_annotation_and_takes_it_off_after(sandbox, kube, redis_client, tmp_path):
    """In place (the stable Deployment stays): the annotation on each claimed object holds Flux,
    and stays after success until Flux no longer reports drift (Git has the new image)."""
    w = world_for(sandbox, kube, redis_client, tmp_path, "suspend")
    managed_by(kube, "flux")
    kustomization = flux_kustomization(kube)
    wait_until(lambda: sandbox.gitops.seen, timeout=5)                  # Flux has read "Git"
    done = w.engine.settle(w.start("rolling user-v2").id, timeout=30)
    assert done.phase == Phase.SUCCEEDED and "suspend" not in kustomization()
    annotations = lambda: w.kube.deployment(NS, "user-v1")["metadata"].get("annotations") or {}  # noqa: E731
    assert annotations().get("kustomize.toolkit.fluxcd.io/reconcile") == "disabled"
    held = [e["detail"] for e in w.store.audit(done.id) if e["action"] == "gitops_held"]
    assert held and "Flux Kustomization flux-system/apps reports drift" in held[0]
    assert w.kube.deployment(NS, "user-v1")["spec"]["template"]["spec"]["containers"][0]["image"].endswith("v2")
    http = urllib3.PoolManager()
    assert http.request("POST", sandbox.url + f"/sandbox/git/commit?kind=deployments&namespace={NS}&name=user-v1"
                        ).status == 200
    wait_until(lambda: HandBack(w.engine).round() == 1, timeout=10, message="no drift: handed back")
    assert "kustomize.toolkit.fluxcd.io/reconcile" not in annotations()


def test_flux_is_held_on_the_kustomization_when_the_release_deletes_the_stable(sandbox, kube, redis_client, tmp_path):
    """A canary ends by deleting user-v1: an annotation on it would go with it, and Flux would
    re-create it from Git. graybot suspends the Kustomization instead, keeps it suspended after
    success while its GitRepository has not moved, and hands back once Git has the release."""
    w = world_for(sandbox, kube, redis_client, tmp_path, "suspend")
    managed_by(kube, "flux")
    kustomization = flux_kustomization(kube)
    wait_until(lambda: flux_revision(kube), timeout=10, message="source-controller fetched Git")
    r = w.engine.settle(w.start("canary user-v2 50%").id)
    assert kustomization()["suspend"] is True
    assert "kustomize.toolkit.fluxcd.io/reconcile" not in (w.kube.deployment(NS, "user-v1")["metadata"].get(
        "annotations") or {})
    done = to_the_end(w, r)
    assert done.phase == Phase.SUCCEEDED and w.kube.deployment(NS, "user-v1") is None
    held = [e["detail"] for e in w.store.audit(done.id) if e["action"] == "gitops_held"]
    assert held and ("Flux Kustomization flux-system/apps is suspended and its GitRepository flux-system/apps "
                     "has not moved since the release began") in held[0]
    assert kustomization()["suspend"] is True and HandBack(w.engine).round() == 0
    passes = sandbox.gitops.passes          # the sandbox's Flux reconciles on, suspended: nothing comes back
    wait_until(lambda: sandbox.gitops.passes > passes + 3, timeout=10, message="Flux reconciled again")
    assert not sandbox.gitops.recreated and w.kube.deployment(NS, "user-v1") is None
    http = urllib3.PoolManager()
    for verb, name in (("commit", "user-v2"), ("remove", "user-v1")):    # CI commits what gitops-diff says
        assert http.request("POST", sandbox.url + f"/sandbox/git/{verb}?kind=deployments&namespace={NS}&name={name}"
                            ).status == 200
    assert http.request("POST", sandbox.url + f"/sandbox/git/commit?kind=services&namespace={NS}&name=user").status == 200
    wait_until(lambda: HandBack(w.engine).round() == 1, timeout=10, message="Git moved: handed back")
    assert "suspend" not in kustomization()                                  # exactly as it was: absent
    wait_until(lambda: (kustomization_status(kube).get("lastAppliedRevision") == flux_revision(kube)),
               timeout=10, message="Flux applied the new revision")
    assert not sandbox.gitops.recreated and w.kube.deployment(NS, "user-v1") is None
    assert w.replicas("user-v2") == 10


def test_flux_owner_suspend_sets_spec_suspend_and_puts_it_back_exactly(sandbox, kube, redis_client, tmp_path):
    from kubernetes import client
    w = world_for(sandbox, kube, redis_client, tmp_path, "suspend")
    w.config_path.write_text(w.config_path.read_text().replace("    gitops: suspend\n",
                                                               "    gitops: suspend\n    gitops_suspend: owner\n"))
    w = world_for_file(w)
    managed_by(kube, "flux")
    objects = client.CustomObjectsApi(kube)
    kustomization = lambda: objects.get_namespaced_custom_object(  # noqa: E731
        "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", "apps")["spec"]
    r = w.engine.settle(w.start("canary user-v2 10%").id)
    assert kustomization()["suspend"] is True
    assert "kustomize.toolkit.fluxcd.io/reconcile" not in (w.kube.deployment(NS, "user-v1")["metadata"].get(
        "annotations") or {})
    wait_until(lambda: (("apps", "deployments"), NS, "user-v1") in sandbox.gitops.held, timeout=10)
    w.act("rollback user")
    assert w.engine.settle(r.id).phase == Phase.ROLLED_BACK
    assert "suspend" not in kustomization()                          # absent before, absent after


def test_a_helmrelease_reverts_only_with_drift_detection_enabled(sandbox, kube, redis_client, tmp_path):
    from kubernetes import client
    w = world_for(sandbox, kube, redis_client, tmp_path, None)
    objects, core = client.CustomObjectsApi(kube), client.CoreV1Api(kube)
    core.create_namespace({"metadata": {"name": "flux-system"}})
    client.AppsV1Api(kube).patch_namespaced_deployment("user-v1", NS, {"metadata": {"labels": {
        "helm.toolkit.fluxcd.io/name": "user", "helm.toolkit.fluxcd.io/namespace": "flux-system"}}})
    objects.create_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", "flux-system", "helmreleases", {
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": "user"},
        "spec": {"interval": "5m", "chart": {"spec": {"chart": "user"}}}})        # driftDetection: its default
    assert run_text(w.engine, "plan canary user-v2 10%", "U_ALICE").ok        # nothing would put it back
    objects.patch_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", "flux-system", "helmreleases", "user",
                                           {"spec": {"driftDetection": {"mode": "enabled"}}})
    reply = run_text(w.engine, "canary user-v2 10%", "U_ALICE")
    assert not reply.ok and "managed by Flux HelmRelease flux-system/user" in reply.text
    assert w.kube.deployment(NS, "user-v2") is None


def test_with_ignore_a_revert_by_the_controller_pauses_and_names_the_manager(sandbox, kube, redis_client, tmp_path):
    w = world_for(sandbox, kube, redis_client, tmp_path, "ignore").run_driver()
    managed_by(kube, "argocd")
    wait_until(lambda: sandbox.gitops.seen, timeout=5)
    r = w.start("canary user-v2 10%")
    paused = wait_until(lambda: (x := w.store.get(r.id)).phase == Phase.PAUSED and x, timeout=30,
                        message="paused by the revert")
    assert "user-v1 was scaled to 10 by argocd-controller outside graybot" in paused.reason
    w.stop()
