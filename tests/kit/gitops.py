"""Argo CD and Flux claiming the demo app `user` on a sandbox cluster (its simulated controllers)."""
from __future__ import annotations

from kubernetes import client

from .world import NS

ARGO = ("argoproj.io", "v1alpha1", "applications")
FLUX = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
FLUX_SOURCE = ("source.toolkit.fluxcd.io", "v1", "gitrepositories")
AUTOMATED = {"selfHeal": True, "prune": False}


def managed_by(kube, tool: str) -> client.CustomObjectsApi:
    """Put user-v1 and Service user under Argo CD (Application argocd/user) or Flux
    (Kustomization flux-system/apps), self-heal on."""
    core, apps, objects = client.CoreV1Api(kube), client.AppsV1Api(kube), client.CustomObjectsApi(kube)
    home = "argocd" if tool == "argocd" else "flux-system"
    core.create_namespace({"metadata": {"name": home}})
    labels = ({"app.kubernetes.io/instance": "user"} if tool == "argocd" else
              {"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": home})
    apps.patch_namespaced_deployment("user-v1", NS, {"metadata": {"labels": labels}})
    core.patch_namespaced_service("user", NS, {"metadata": {"labels": labels}})
    if tool == "argocd":
        objects.create_namespaced_custom_object(*ARGO[:2], home, ARGO[2], {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "user"},
            "spec": {"destination": {"namespace": NS}, "source": {"repoURL": "https://git.example/apps", "path": "user"},
                     "syncPolicy": {"automated": dict(AUTOMATED)}}})
    else:
        objects.create_namespaced_custom_object(*FLUX[:2], home, FLUX[2], {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {"name": "apps"},
            "spec": {"interval": "1m", "path": "./apps", "prune": True, "targetNamespace": NS,
                     "sourceRef": {"kind": "GitRepository", "name": "apps"}}})
        objects.create_namespaced_custom_object(*FLUX_SOURCE[:2], home, FLUX_SOURCE[2], {
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": {"name": "apps"},
            "spec": {"interval": "1m", "url": "https://git.example/apps", "ref": {"branch": "main"}}})
    return objects


def automated(objects) -> dict | None:
    app = objects.get_namespaced_custom_object(*ARGO[:2], "argocd", ARGO[2], "user")
    return (app["spec"].get("syncPolicy") or {}).get("automated")
