"""Living with GitOps controllers: before a release, find out whether Argo CD or Flux manages
what it will change and would put it back; then refuse (the default), suspend reconciliation for
the release's duration (remembered in the release's origin, saved in Redis before anything
changes, restored on success or rollback), or go ahead because the team told its controller to
ignore graybot's fields (`ignore`; a revert then pauses the release, naming the manager)."""
from __future__ import annotations


from bot.adapters.kube import Kube, KubeError
from bot.workloads import Workload, WorkloadOf
from bot.domain.apps import AppSpec
from bot.domain.gitops import ARGO_TRACKING, FLUX_RECONCILE, Claim, claims
from bot.domain.model import Release

from .refusals import Refused

FLUX_PLURALS = {"Kustomization": "kustomizations", "HelmRelease": "helmreleases"}


def _self_heal(app: dict) -> bool:
    auto = (app.get("spec", {}).get("syncPolicy") or {}).get("automated")
    return auto is not None and auto.get("enabled", True) is not False and bool(auto.get("selfHeal"))


class GitOpsGuard:
    def __init__(self, workload_of: WorkloadOf):
        """`workload_of(cluster)`: the app's workload in one cluster (each has its own
        controllers); its `kube` reaches the GitOps objects and the Service."""
        self.workload_of = workload_of

    # -- before the release -------------------------------------------------------------
    def inspect(self, app: AppSpec, stable: dict, cluster: str = "") -> list[dict]:
        """Every live claim on the objects a release changes, with whether the claimer reverts."""
        workload = self.workload_of(cluster, app.workload)
        targets, kube = [(stable, workload.api_kind)], workload.kube
        service = kube.service(app.namespace, app.service)
        if service is not None:
            targets.append((service, "Service"))
        found = []
        for obj, kind in targets:
            for claim in claims(obj, kind):
                owner = self._owner(app, kube, claim)
                if owner is not None:
                    found.append(dict(claim.as_dict(), **owner, object_kind=kind,
                                      object_name=obj["metadata"]["name"]))
        return found

    def _argo_kube(self, cluster: str, local: Kube) -> Kube:
        """Where the Applications are: a management cluster (apps.yaml `argocd.cluster`) or here."""
        return self.workload_of(cluster).kube if cluster else local

    def _owner(self, app: AppSpec, kube: Kube, claim: Claim) -> dict | None:
        namespace = app.namespace
        if claim.tool == "argocd":
            ns, cluster = claim.namespace or app.argocd.namespace, app.argocd.cluster
            where = f"cluster {cluster}" if cluster else "this cluster"
            try:
                found = self._argo_kube(cluster, kube).gitops_object("applications", ns, claim.name)
                unreadable = f"no Application {ns}/{claim.name} in {where}"
            except KubeError as err:
                found, unreadable = None, f"Application {ns}/{claim.name} in {where} cannot be read: {err.message}"
            if found is None:
                # a tracking id is Argo CD's own mark: its Application is elsewhere, not absent
                # (the label alone is common, Helm sets it: no Application, no claim)
                return {"namespace": ns, "cluster": cluster, "reverts": True, "unreadable": unreadable} \
                    if claim.certain else None
            appset = next((o["name"] for o in found["metadata"].get("ownerReferences") or []
                           if o.get("kind") == "ApplicationSet"), "")
            return {"namespace": ns, "cluster": cluster, "reverts": _self_heal(found), "appset": appset,
                    "automated": (found["spec"].get("syncPolicy") or {}).get("automated")}
        plural = FLUX_PLURALS[claim.kind]
        owner = kube.gitops_object(plural, claim.namespace or namespace, claim.name)
        if owner is None:
            return None
        suspended = bool(owner["spec"].get("suspend"))
        if claim.kind == "HelmRelease":   # helm-controller corrects drift only with driftDetection enabled
            mode = (owner["spec"].get("driftDetection") or {}).get("mode", "disabled")
            return {"namespace": claim.namespace or namespace, "plural": plural, "reverts": not suspended and
                    mode == "enabled", "suspend_was": owner["spec"].get("suspend")}
        source = owner["spec"].get("sourceRef") or {}
        return {"namespace": claim.namespace or namespace, "plural": plural, "reverts": not suspended,
                "suspend_was": owner["spec"].get("suspend"),
                "source": {"kind": source.get("kind", ""), "name": source.get("name", ""),
                           "namespace": source.get("namespace") or claim.namespace or namespace}}

    @staticmethod
    def _source_revision(kube: Kube, claim: dict) -> str | None:
        """The revision a suspended Kustomization's GitRepository has fetched (None: not a GitRepository)."""
        source = claim.get("source") or {}
        if source.get("kind") != "GitRepository":
            return None
        repo = kube.flux_source(source["namespace"], source["name"])
        revision = ((repo or {}).get("status") or {}).get("artifact", {}).get("revision")
        return str(revision) if revision else None      # none fetched yet: nothing to compare with later

    def origin(self, app: AppSpec, stable: dict, cluster: str = "", retires_stable: bool = False) -> dict:
        """What the plan keeps: the claims, the policy, and (for suspend) what to restore.
        `retires_stable`: the release ends by deleting the stable Deployment. Flux is then held
        on the owner (spec.suspend), whatever gitops_suspend says: the reconcile annotation would
        go with the deleted object, and Flux would re-create it from Git at its next reconcile."""
        found, workload = self.inspect(app, stable, cluster), self.workload_of(cluster, app.workload)
        if not found:
            return {}
        policy = app.gitops or "refuse"
        reverting = [c for c in found if c["reverts"]]
        if policy == "refuse" and reverting:
            raise Refused(self._refusal(app, reverting))
        if policy == "suspend" and (held := self._cannot_suspend(app, found)):
            raise Refused(held)
        if policy == "suspend":
            on_owner = {(c["plural"], c["namespace"], c["name"]) for c in found if c["tool"] == "flux" and (
                app.gitops_suspend == "owner" or c["kind"] == "HelmRelease"
                or (retires_stable and c["object_kind"] == workload.api_kind))}
            for c in found:
                if c["tool"] == "flux" and (c["plural"], c["namespace"], c["name"]) in on_owner:
                    c["via"] = "owner"        # spec.suspend on the Kustomization or HelmRelease
                    # a suspended Kustomization reports no drift: Git has the release once its source moves
                    c["revision_was"] = self._source_revision(workload.kube, c)
                elif c["tool"] == "flux":
                    obj = (workload.get if c["object_kind"] == workload.api_kind else workload.kube.service)(
                        app.namespace, c["object_name"])
                    c["annotation_was"] = ((obj or {}).get("metadata", {}).get("annotations") or {}).get(FLUX_RECONCILE)
        return {"gitops": {"policy": policy, "claims": found}}

    @staticmethod
    def _cannot_suspend(app: AppSpec, found: list[dict]) -> str:
        """Why `suspend` would not hold: an Application graybot cannot reach, or one an
        ApplicationSet generates (it turns automated sync back on at its next reconcile)."""
        for c in found:
            if c.get("unreadable"):
                return (f"{c['object_kind']} {c['object_name']} carries {ARGO_TRACKING} naming Application "
                        f"{c['name']}, but {c['unreadable']}: graybot cannot suspend its sync. Set `argocd: "
                        f"{{cluster: NAME, namespace: NS}}` for {app.name} in apps.yaml (where Argo CD keeps it).")
            if c.get("appset"):
                return (f"Application {c['namespace']}/{c['name']} is generated by ApplicationSet {c['appset']}, "
                        "which puts its automated sync back at its next reconcile: `gitops: suspend` would not "
                        "hold. Use `gitops: ignore` with ignoreDifferences (managedFieldsManagers: [graybot]) in "
                        "the ApplicationSet's template, or stop it from updating Applications "
                        "(syncPolicy.applicationsSync: create-only) during releases.")
        return ""

    @staticmethod
    def _refusal(app: AppSpec, found: list[dict]) -> str:
        said = "; ".join(Claim(**{k: c[k] for k in Claim.__dataclass_fields__}).said() for c in found)
        unreadable = "; ".join(c["unreadable"] for c in found if c.get("unreadable"))
        if unreadable:
            said += (f" ({unreadable}: if Argo CD runs in another cluster or namespace, name it with "
                     f"`argocd: {{cluster: NAME, namespace: NS}}` in apps.yaml)")
        return (f"{said}, and it would put back what graybot changes. Either set `gitops: suspend` for "
                f"{app.name} in apps.yaml (graybot pauses reconciliation during the release and restores "
                "it after), or tell the controller to ignore graybot's fields (Argo CD: ignoreDifferences "
                "with managedFieldsManagers: [graybot]; Flux: ignore the fields or annotate the objects) "
                "and set `gitops: ignore`.")

    # -- during and after --------------------------------------------------------------
    @staticmethod
    def _claims(release: Release) -> list[dict]:
        gitops = release.origin.get("gitops") or {}
        return gitops.get("claims", []) if gitops.get("policy") == "suspend" else []

    def suspend(self, workload: Workload, release: Release) -> None:
        """Idempotent: Argo CD's automated sync off on the Application; Flux's reconcile
        annotation on each claimed object (its Kustomization keeps working for the rest)."""
        kube = workload.kube
        for c in self._claims(release):
            if c["tool"] == "argocd":
                self._argo_kube(c.get("cluster", ""), kube).merge_gitops_object(
                    "applications", c["namespace"], c["name"], {"spec": {"syncPolicy": {"automated": None}}})
            elif c.get("via") == "owner":
                kube.merge_gitops_object(c["plural"], c["namespace"], c["name"], {"spec": {"suspend": True}})
            elif c["kind"] == "Kustomization":
                kube.annotate(c["object_kind"], release.namespace, c["object_name"], {FLUX_RECONCILE: "disabled"})

    def restore(self, workload: Workload, release: Release) -> None:
        """Put back exactly what `origin` recorded (an object graybot deleted needs nothing)."""
        kube = workload.kube
        for c in self._claims(release):
            if c["tool"] == "argocd":
                self._argo_kube(c.get("cluster", ""), kube).merge_gitops_object(
                    "applications", c["namespace"], c["name"], {"spec": {"syncPolicy": {"automated": c.get("automated")}}})
            elif c.get("via") == "owner":      # exactly as it was: absent stays absent
                kube.merge_gitops_object(c["plural"], c["namespace"], c["name"], {"spec": {"suspend": c.get("suspend_was")}})
            elif c["kind"] == "Kustomization":
                getter = workload.get if c["object_kind"] == workload.api_kind else kube.service
                if getter(release.namespace, c["object_name"]) is not None:
                    kube.annotate(c["object_kind"], release.namespace, c["object_name"],
                                  {FLUX_RECONCILE: c.get("annotation_was")})

    def suspended(self, release: Release) -> bool:
        """The release suspended reconciliation somewhere (gitops: suspend, with claims)."""
        return bool(self._claims(release))

    def suspended_text(self, release: Release) -> str:
        names = sorted({f"{'Argo CD' if c['tool'] == 'argocd' else 'Flux'} {c['kind']} {c['name']}"
                        for c in self._claims(release)})
        return f"reconciliation suspended for the release: {', '.join(names)}" if names else ""

    def handback(self, release: Release, service_name: str) -> dict:
        """What Git must now hold after a successful release, read from the cluster as it is."""
        workload = self.workload_of(release.cluster)
        deploy = workload.get(release.namespace, release.new_name) or {}
        service = workload.kube.service(release.namespace, service_name) or {}
        spec = deploy.get("spec") or {}
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        labels = {"metadata": (deploy.get("metadata") or {}).get("labels") or {},
                  "selector": (spec.get("selector") or {}).get("matchLabels") or {},
                  "template": ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}}
        return {"deployment": {"name": release.new_name, "namespace": release.namespace,
                               "replicas": spec.get("replicas"), "labels": labels,
                               "containers": [{"name": c["name"], "image": c.get("image")} for c in containers]},
                "retired": release.stable_name if release.stable_name != release.new_name else None,
                "service": {"name": service_name, "selector": (service.get("spec") or {}).get("selector") or {}}}

    def git_lag(self, release: Release) -> str | None:
        """After success: which controller still reports the app OutOfSync (Git not updated yet)."""
        behind, kube = [], self.workload_of(release.cluster).kube
        for c in (release.origin.get("gitops") or {}).get("claims", []):
            if c["tool"] == "argocd":
                app = self._argo_kube(c.get("cluster", ""), kube).gitops_object("applications", c["namespace"],
                                                                                c["name"]) or {}
                if ((app.get("status") or {}).get("sync") or {}).get("status") == "OutOfSync":
                    behind.append(f"Argo CD Application {c['namespace']}/{c['name']} is OutOfSync")
            elif c["kind"] == "Kustomization" and c.get("via") == "owner" and c.get("revision_was") is not None:
                if self._source_revision(kube, c) == c["revision_was"]:
                    src = c["source"]
                    behind.append(f"Flux Kustomization {c['namespace']}/{c['name']} is suspended and its "
                                  f"GitRepository {src['namespace']}/{src['name']} has not moved since the release began")
            elif c["kind"] == "Kustomization":
                ks = kube.gitops_object("kustomizations", c["namespace"], c["name"]) or {}
                ready: dict = next((x for x in (ks.get("status") or {}).get("conditions") or [] if x.get("type") == "Ready"), {})
                if ready.get("reason") == "DriftDetected":
                    behind.append(f"Flux Kustomization {c['namespace']}/{c['name']} reports drift")
        return "; ".join(sorted(set(behind))) or None
