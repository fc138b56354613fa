"""The API resources the sandbox serves, and the discovery documents kubectl reads."""
from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    custom: bool = False          # a CustomResource: no strategic merge patch, PUT needs an RV
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    categories: tuple[str, ...] = field(default=())

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


RESOURCES: list[Resource] = [
    Resource("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",)),
    Resource("", "v1", "pods", "Pod", short_names=("po",), subresources=("status",),
             categories=("all",)),
    Resource("", "v1", "services", "Service", short_names=("svc",), subresources=("status",),
             categories=("all",)),
    Resource("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    Resource("apps", "v1", "deployments", "Deployment", short_names=("deploy",),
             subresources=("scale", "status"), categories=("all",)),
    Resource("apps", "v1", "replicasets", "ReplicaSet", short_names=("rs",),
             subresources=("scale", "status"), categories=("all",)),
    Resource("networking.k8s.io", "v1", "ingresses", "Ingress", short_names=("ing",),
             subresources=("status",)),
    Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
             namespaced=False, short_names=("crd", "crds"), subresources=("status",)),
] + [
    Resource("networking.istio.io", version, plural, kind, short_names=(short,), custom=True)
    for version in ("v1", "v1beta1")
    for plural, kind, short in (("virtualservices", "VirtualService", "vs"),
                                ("destinationrules", "DestinationRule", "dr"))
] + [
    Resource("gateway.networking.k8s.io", "v1", "gatewayclasses", "GatewayClass", namespaced=False,
             short_names=("gc",), subresources=("status",), custom=True, categories=("gateway-api",)),
    Resource("gateway.networking.k8s.io", "v1", "gateways", "Gateway", short_names=("gtw",),
             subresources=("status",), custom=True, categories=("gateway-api",)),
    Resource("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", subresources=("status",),
             custom=True, categories=("gateway-api",)),
    Resource("gateway.networking.k8s.io", "v1", "grpcroutes", "GRPCRoute", subresources=("status",),
             custom=True, categories=("gateway-api",)),
    Resource("argoproj.io", "v1alpha1", "applications", "Application", short_names=("app", "apps"),
             custom=True),
    Resource("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", "Kustomization", short_names=("ks",),
             subresources=("status",), custom=True),
    Resource("helm.toolkit.fluxcd.io", "v2", "helmreleases", "HelmRelease", short_names=("hr",),
             subresources=("status",), custom=True),
    Resource("source.toolkit.fluxcd.io", "v1", "gitrepositories", "GitRepository", short_names=("gitrepo",),
             subresources=("status",), custom=True),
    Resource("argoproj.io", "v1alpha1", "rollouts", "Rollout", short_names=("ro",),
             subresources=("status", "scale"), custom=True),
    Resource("argoproj.io", "v1alpha1", "analysisruns", "AnalysisRun", short_names=("ar",),
             subresources=("status",), custom=True),
    Resource("rollouts.kruise.io", "v1beta1", "rollouts", "Rollout", subresources=("status",), custom=True),
    Resource("flagger.app", "v1beta1", "canaries", "Canary", short_names=("canary",), subresources=("status",),
             custom=True),
]


def find(group: str, version: str, plural: str) -> Resource | None:
    for res in RESOURCES:
        if (res.group, res.version, res.plural) == (group, version, plural):
            return res
    return None


def storage_key(res: Resource) -> tuple[str, str]:
    """Objects of one kind share storage across versions (v1 and v1beta1 Istio)."""
    return res.group, res.plural


def groups() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for res in RESOURCES:
        if res.group and res.version not in out.setdefault(res.group, []):
            out[res.group].append(res.version)
    return out


def api_versions() -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": "127.0.0.1"}]}


def api_group_list() -> dict:
    items = []
    for group, versions in groups().items():
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        items.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}


def api_group(group: str) -> dict | None:
    versions = groups().get(group)
    if not versions:
        return None
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": gvs,
            "preferredVersion": gvs[0]}


def resource_list(group: str, version: str) -> dict | None:
    entries = []
    for res in RESOURCES:
        if (res.group, res.version) != (group, version):
            continue
        entries.append({"name": res.plural, "singularName": res.singular,
                        "namespaced": res.namespaced, "kind": res.kind,
                        "verbs": list(res.verbs), "shortNames": list(res.short_names),
                        "categories": list(res.categories)})
        for sub in res.subresources:
            kind = "Scale" if sub == "scale" else res.kind
            entries.append({"name": f"{res.plural}/{sub}", "singularName": "",
                            "namespaced": res.namespaced, "kind": kind,
                            "group": "autoscaling" if sub == "scale" else None,
                            "version": "v1" if sub == "scale" else None,
                            "verbs": ["get", "patch", "update"]})
    if not entries:
        return None
    for e in entries:
        for k in [k for k, v in e.items() if v is None]:
            del e[k]
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}
