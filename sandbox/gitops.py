"""Argo CD and Flux as the objects they manage see them: the `Application` (argoproj.io/v1alpha1)
and `Kustomization` (kustomize.toolkit.fluxcd.io/v1) kinds, and a simulated controller that holds
a "Git" copy of every Deployment and Service it manages and, with self-heal on, puts back any
drift within `delay` seconds, writing as its own field manager. It honours exactly the fields
Argo CD's and Flux's documentation name: Argo CD's tracking label `app.kubernetes.io/instance` (or the
`argocd.argoproj.io/tracking-id` annotation) and `spec.syncPolicy.automated.selfHeal` (with
`enabled: false` or no `automated` meaning no self-heal); Flux's `kustomize.toolkit.fluxcd.io/
name`/`namespace` labels, `spec.suspend` and the per-object annotation
`kustomize.toolkit.fluxcd.io/reconcile: disabled`; and a HelmRelease's objects
(`helm.toolkit.fluxcd.io/name`/`namespace` labels), put back only with
`spec.driftDetection.mode: enabled` and not `spec.suspend`. Status says Synced/OutOfSync (Argo) or
Ready (Flux: `lastAppliedRevision` moves only while not suspended; every GitRepository
(source.toolkit.fluxcd.io/v1) reports the in-memory Git's head in `status.artifact.revision`, a new
one per commit, as source-controller does whether or not its Kustomizations are suspended); an
object Git holds that the cluster lacks is OutOfSync, and self-heal re-creates
it (as Argo CD and Flux do). An Application whose `destination.name` is in `remotes` manages that cluster's
objects (Argo CD in a management cluster); its tracking id may read `NAMESPACE_APP:...`
("Applications in any namespace"). An Application whose `spec.source.repoURL` is on the sandbox's
Git host (`git_host`, gitserver.py) reads a real repository instead of the in-memory copy
(gitsource.py). Not simulated: pruning.
"""
from __future__ import annotations

import hashlib
import time

from . import gitsource, managed, resources
from .semantics import prepare_create
from .objstore import ObjectStore, clone, now_rfc3339

ARGO, FLUX = ("argoproj.io", "applications"), ("kustomize.toolkit.fluxcd.io", "kustomizations")
HELM = ("helm.toolkit.fluxcd.io", "helmreleases")
FLUX_SOURCE = ("source.toolkit.fluxcd.io", "gitrepositories")
FLUX_HELM, FLUX_HELM_NAMESPACE = "helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace"
KINDS = ((("apps", "deployments"), "apps/v1"), (("", "services"), "v1"))
ARGO_LABEL, ARGO_TRACKING = "app.kubernetes.io/instance", "argocd.argoproj.io/tracking-id"
FLUX_NAME, FLUX_NAMESPACE = "kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace"
FLUX_RECONCILE = "kustomize.toolkit.fluxcd.io/reconcile"
ARGO_MANAGER, FLUX_MANAGER, HELM_MANAGER = "argocd-controller", "kustomize-controller", "helm-controller"


def argo_self_heal(app: dict) -> bool:
    auto = (app.get("spec", {}).get("syncPolicy") or {}).get("automated")
    return auto is not None and auto.get("enabled", True) is not False and bool(auto.get("selfHeal"))


class GitOpsController:
    def __init__(self, store: ObjectStore, delay: float = 1.0):
        self.store, self.delay = store, delay
        self.remotes: dict[str, ObjectStore] = {}   # destination.name -> another cluster's store
        self.git: dict[tuple, dict] = {}            # (kind, ns, name) -> the spec Git holds
        self.drifted_at: dict[tuple, float] = {}
        self.seen: set[tuple] = set()               # controllers whose objects Git was read for
        self.held: set[tuple] = set()               # drift older than `delay` left alone (suspended)
        self.manifests: dict[tuple, dict] = {}      # (kind, ns, name) -> the whole object Git holds
        self.owned: dict[tuple, set] = {}           # controller -> the keys of the objects it manages
        self.recreated: list[tuple] = []            # objects put back after a deletion (for tests)
        self.git_host = None                        # gitserver.GitServer: Applications whose source is there read it
        self.synced: dict[tuple, str] = {}          # Application -> the Git revision it last applied
        self.commits = 1                            # commits to the in-memory "Git" (its revision moves with them)
        self.passes = 0                             # reconcile passes so far (a test waits for some)

    def commit(self, skey: tuple, namespace: str, name: str) -> bool:
        """What a CI job committing graybot's change does: Git now holds the live spec."""
        obj = self.store.get(skey, namespace, name)
        if obj is None:
            return False
        self.git[(skey, namespace, name)] = clone(obj["spec"])
        self.manifests[(skey, namespace, name)] = _manifest(obj)
        self.commits += 1
        return True

    def remove(self, skey: tuple, namespace: str, name: str) -> bool:
        """A commit that deletes the object's manifest: Git no longer holds it."""
        key = (skey, namespace, name)
        self.manifests.pop(key, None)
        self.commits += 1
        return self.git.pop(key, None) is not None

    @property
    def revision(self) -> str:
        """The in-memory Git's head, as Flux's source-controller names a revision."""
        return f"main@sha1:{hashlib.sha1(str(self.commits).encode()).hexdigest()}"

    def sync(self) -> None:
        self.passes += 1
        for app in self.store.peek(ARGO):
            dest = app["spec"].get("destination") or {}
            store = self.remotes.get(dest.get("name") or "", self.store)    # a management cluster's Argo CD
            ns, name, home = dest.get("namespace") or "default", app["metadata"]["name"], app["metadata"]["namespace"]
            ids = (f"{name}:", f"{home}_{name}:")          # the second: "Applications in any namespace"
            mine = self._objects(ns, lambda o: (o["metadata"].get("labels") or {}).get(ARGO_LABEL) == name or
                                 str((o["metadata"].get("annotations") or {}).get(ARGO_TRACKING, ""))
                                 .startswith(ids), store)
            from_git = gitsource.desired(self.git_host, app)
            if from_git is None:
                drifted, revision = self._heal(ARGO + (home, name), mine, argo_self_heal(app), ARGO_MANAGER, store), \
                    "sandbox-git"
            else:
                revision, wanted = from_git
                drifted = self._sync_git(ARGO + (home, name), app, mine, wanted, revision, store)
            self._status(ARGO, app, {"sync": {"status": "OutOfSync" if drifted else "Synced",
                                              "revision": revision},
                                     "health": {"status": "Healthy"},
                                     "resources": [{"kind": o["kind"], "name": o["metadata"]["name"],
                                                    "namespace": ns} for _, o in mine]})
        for ks in self.store.peek(FLUX):
            ns, name = ks["metadata"]["namespace"], ks["metadata"]["name"]
            target = ks["spec"].get("targetNamespace") or ns
            mine = self._objects(target, lambda o: (o["metadata"].get("labels") or {}).get(FLUX_NAME) == name and
                                 (o["metadata"].get("labels") or {}).get(FLUX_NAMESPACE) == ns)
            suspended = bool(ks["spec"].get("suspend"))
            drifted = self._heal(FLUX + (ns, name), mine, not suspended, FLUX_MANAGER, self.store)
            ready = {"type": "Ready", "status": "Unknown" if suspended else ("False" if drifted else "True"),
                     "reason": "Suspended" if suspended else ("DriftDetected" if drifted else "ReconciliationSucceeded"),
                     "message": "drift from Git" if drifted else "Applied revision: sandbox-git"}
            old = next((c for c in (ks.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), {})
            ready["lastTransitionTime"] = old.get("lastTransitionTime") if old.get("status") == ready["status"] \
                else now_rfc3339()
            applied = (ks.get("status") or {}).get("lastAppliedRevision") if suspended else self.revision
            self._status(FLUX, ks, {"conditions": [ready], "lastAppliedRevision": applied or self.revision})
        for repo in self.store.peek(FLUX_SOURCE):   # source-controller fetches whatever the Kustomizations do
            self._status(FLUX_SOURCE, repo, {"artifact": {"revision": self.revision},
                                             "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}]})
        self._helm_releases()

    def _helm_releases(self) -> None:
        """helm-controller: puts drift back only with `spec.driftDetection.mode: enabled` (its
        default is disabled; `warn` reports it), never while `spec.suspend`."""
        for hr in self.store.peek(HELM):
            ns, name = hr["metadata"]["namespace"], hr["metadata"]["name"]
            target = hr["spec"].get("targetNamespace") or ns
            mine = self._objects(target, lambda o: (o["metadata"].get("labels") or {}).get(FLUX_HELM) == name and
                                 (o["metadata"].get("labels") or {}).get(FLUX_HELM_NAMESPACE) == ns)
            mode = (hr["spec"].get("driftDetection") or {}).get("mode", "disabled")
            suspended = bool(hr["spec"].get("suspend"))
            drifted = self._heal(HELM + (ns, name), mine, mode == "enabled" and not suspended, HELM_MANAGER, self.store)
            self._status(HELM, hr, {"conditions": [{"type": "Ready", "status": "Unknown" if suspended else "True",
                                                    "reason": "Suspended" if suspended else (
                                                        "DriftDetected" if drifted and mode != "disabled"
                                                        else "UpgradeSucceeded")}]})

    def _objects(self, namespace: str, mine, store: ObjectStore | None = None) -> list[tuple]:
        return [((skey, api), obj) for skey, api in KINDS for obj in (store or self.store).peek(skey, namespace)
                if mine(obj)]

    def _heal(self, owner: tuple, objects: list[tuple], heal: bool, manager: str, store: ObjectStore) -> bool:
        """True when any object differs from Git (or is not in it); with `heal`, put a changed
        one back after `delay`. Git is what the objects were when the controller first saw them."""
        drifted, now = False, time.monotonic()
        first = owner not in self.seen
        self.seen.add(owner)
        live = {(skey, obj["metadata"]["namespace"], obj["metadata"]["name"]) for (skey, _api), obj in objects}
        for key in sorted(k for k in self.owned.get(owner, set()) - live if k in self.git):
            drifted = True                 # Git holds it, the cluster does not: OutOfSync (Missing)
            if heal and key in self.manifests and store.get(*key) is None:
                group, version = (key[0][0], self.manifests[key]["apiVersion"].rpartition("/")[2])
                res = resources.find(group, version, key[0][1])
                assert res is not None
                store.create(key[0], prepare_create(res, self.manifests[key]))
                self.recreated.append(key)
        for (skey, api), obj in objects:
            key = (skey, obj["metadata"]["namespace"], obj["metadata"]["name"])
            if first:
                self.git.setdefault(key, clone(obj["spec"]))
                self.manifests.setdefault(key, _manifest(obj))
                self.owned.setdefault(owner, set()).add(key)
            desired = self.git.get(key)
            if desired is None:        # created since, not in Git: OutOfSync, never "healed"
                drifted = True
                continue
            if obj["spec"] == desired:
                self.drifted_at.pop(key, None)
                continue
            drifted = True
            disabled = (obj["metadata"].get("annotations") or {}).get(FLUX_RECONCILE) == "disabled" \
                and manager == FLUX_MANAGER
            since = self.drifted_at.setdefault(key, now)
            if now - since >= self.delay and (not heal or disabled):
                self.held.add(key)                 # it would have been put back by now
            if heal and not disabled and now - since >= self.delay:
                reverted = dict(clone(obj), spec=clone(desired))
                managed.record(obj, reverted, manager, api)
                store.update(skey, reverted)
                self.drifted_at.pop(key, None)
        return drifted

    def _sync_git(self, owner: tuple, app: dict, objects: list[tuple], wanted: dict, revision: str,
                  store: ObjectStore) -> bool:
        """An Application read from the Git host: apply a new revision when automated, put drift
        back after `delay` with selfHeal, and say whether the cluster differs from Git."""
        auto = (app["spec"].get("syncPolicy") or {}).get("automated")
        automated = auto is not None and auto.get("enabled", True) is not False
        apply_revision = automated and self.synced.get(owner) != revision
        drifted, now = False, time.monotonic()
        self.seen.add(owner)
        for key, manifest in wanted.items():
            obj = store.get(*key)
            if obj is None:
                drifted = True
                if apply_revision or argo_self_heal(app):
                    res = resources.find(key[0][0], manifest["apiVersion"].rpartition("/")[2], key[0][1])
                    assert res is not None
                    store.create(key[0], prepare_create(res, dict(clone(manifest), metadata=dict(
                        clone(manifest["metadata"]), namespace=key[1]))))
                    self.recreated.append(key)
                continue
            if gitsource.covers(manifest.get("spec") or {}, obj["spec"]):
                self.drifted_at.pop(key, None)
                continue
            drifted = True
            since = self.drifted_at.setdefault(key, now)
            if apply_revision or (argo_self_heal(app) and now - since >= self.delay):
                healed = dict(clone(obj), spec=gitsource.overlay(obj["spec"], clone(manifest.get("spec") or {})))
                managed.record(obj, healed, ARGO_MANAGER, manifest["apiVersion"])
                store.update(key[0], healed)
                self.drifted_at.pop(key, None)
            elif now - since >= self.delay:
                self.held.add(key)                 # it would have been put back by now
        extra = {(skey, o["metadata"]["namespace"], o["metadata"]["name"]) for (skey, _api), o in objects} - set(wanted)
        if automated:
            self.synced[owner] = revision
        return drifted or bool(extra)

    def _status(self, skey: tuple, obj: dict, status: dict) -> None:
        if obj.get("status") != status:
            self.store.update(skey, dict(clone(obj), status=status))


def _manifest(obj: dict) -> dict:
    """The object as its manifest in Git has it: no status, no server-set metadata."""
    meta = obj["metadata"]
    kept = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": clone(kept),
            "spec": clone(obj["spec"])}


def register(server, controller: GitOpsController) -> None:
    """POST /sandbox/git/commit?kind=deployments|services&namespace=&name=: Git takes the live spec;
    POST /sandbox/git/remove?...: a commit deleting the object's manifest."""
    def route(change, done: str, missing: str):
        def handle(query, _raw):
            skey = dict((k[1], k) for k, _ in KINDS).get(query.get("kind", ""))
            if skey is None or not change(skey, query.get("namespace", "default"), query.get("name", "")):
                return 404, {"error": f"{missing} (kind: deployments or services)"}
            return 200, {done: query.get("name")}
        return handle
    server.extra_routes[("POST", "/sandbox/git/commit")] = route(controller.commit, "committed", "no such object")
    server.extra_routes[("POST", "/sandbox/git/remove")] = route(controller.remove, "removed",
                                                                 "Git holds no such object")
