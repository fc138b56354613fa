"""Which GitOps controller claims a Kubernetes object, from its own metadata (pure), and what an
app's `gitops:` policy says to do about it (docs/usage.md, "Living with GitOps")."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

POLICIES = ("refuse", "suspend", "ignore")
ARGO_LABEL, ARGO_TRACKING = "app.kubernetes.io/instance", "argocd.argoproj.io/tracking-id"
FLUX_NAME, FLUX_NAMESPACE = "kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace"
FLUX_HELM = "helm.toolkit.fluxcd.io/name"
FLUX_RECONCILE = "kustomize.toolkit.fluxcd.io/reconcile"


ARGO_NAMESPACE = "argocd"        # where Argo CD keeps its Applications (its default install)
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class ArgoCDSpec:
    """Where an app's Argo CD Applications live: another cluster's name from `clusters:` (a
    management cluster; "" = the app's own cluster) and their namespace."""
    cluster: str = ""
    namespace: str = ARGO_NAMESPACE


def parse_argocd(raw: object, where: str, clusters: dict, problems: list[str]) -> ArgoCDSpec | None:
    """apps.yaml `argocd: {cluster: NAME, namespace: argocd}` (top level or per app)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"cluster", "namespace"}:
        problems.append(f"{where}.argocd: must be a mapping of cluster (a name from clusters:) and namespace")
        return None
    cluster, namespace = str(raw.get("cluster") or ""), str(raw.get("namespace") or ARGO_NAMESPACE)
    if cluster and cluster not in clusters:
        problems.append(f"{where}.argocd.cluster: {cluster!r} is not in clusters: ({', '.join(clusters)})")
    if not _NAME.match(namespace):
        problems.append(f"{where}.argocd.namespace: {namespace!r} is not a DNS-1123 label")
    return ArgoCDSpec(cluster, namespace)


def tracking_app(tracking_id: str) -> tuple[str, str]:
    """(namespace, name) of the Application an `argocd.argoproj.io/tracking-id` names: `APP:...`,
    or `NAMESPACE_APP:...` with "Applications in any namespace" (names cannot hold `_`)."""
    head = str(tracking_id).split(":", 1)[0]
    namespace, _, name = head.rpartition("_")
    return namespace, name


@dataclass(frozen=True)
class Claim:
    tool: str          # argocd | flux
    kind: str          # Application | Kustomization | HelmRelease
    name: str          # the claiming object's name ...
    namespace: str     # ... and namespace ("" when only a label names it: Argo's default namespace)
    target: str        # what it claims, e.g. "Deployment user-v1"
    evidence: str      # how graybot knows
    certain: bool = False   # a claim even when the claimer cannot be read (a tracking id, not a label)

    def as_dict(self) -> dict:
        return asdict(self)

    def said(self) -> str:
        owner = f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"
        return f"{self.target} is managed by {'Argo CD' if self.tool == 'argocd' else 'Flux'} {owner} ({self.evidence})"


def claims(obj: dict, kind: str) -> list[Claim]:
    meta = obj.get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    target = f"{kind} {meta.get('name')}"
    found = []
    if ARGO_TRACKING in annotations:
        namespace, app = tracking_app(annotations[ARGO_TRACKING])
        found.append(Claim("argocd", "Application", app, namespace, target, f"annotation {ARGO_TRACKING}",
                           certain=True))
    elif ARGO_LABEL in labels:
        found.append(Claim("argocd", "Application", labels[ARGO_LABEL], "", target, f"label {ARGO_LABEL}"))
    if FLUX_NAME in labels:
        found.append(Claim("flux", "Kustomization", labels[FLUX_NAME], labels.get(FLUX_NAMESPACE, ""), target,
                           f"labels {FLUX_NAME}/namespace"))
    if FLUX_HELM in labels:
        found.append(Claim("flux", "HelmRelease", labels[FLUX_HELM], labels.get("helm.toolkit.fluxcd.io/namespace", ""),
                           target, f"label {FLUX_HELM}"))
    return found


def field_owner(obj: dict, path: tuple[str, ...]) -> str | None:
    """Who last wrote `path` (e.g. ("spec", "replicas")), per managedFields."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        node = entry.get("fieldsV1") or {}
        for key in path:
            node = node.get(f"f:{key}") if isinstance(node, dict) else None
            if node is None:
                break
        else:
            return entry.get("manager")
    return None
