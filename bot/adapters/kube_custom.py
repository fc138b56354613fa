"""The custom resources graybot reads and writes, over the official client's CustomObjectsApi
(`self.custom`, made by Kube, the module that imports `kubernetes`): Istio routing, Gateway API
HTTPRoutes, GitOps controllers' objects, Argo Rollouts, Kruise Rollouts and Flagger Canaries. A mixin of Kube."""
from __future__ import annotations

from .kubeerrors import KubeError


class CustomObjects:
    # -- Istio custom objects ------------------------------------------------------------
    ISTIO = ("networking.istio.io", "v1beta1")
    ISTIO_PLURALS = ("virtualservices", "destinationrules")    # what the RBAC must grant

    def istio(self, ns: str, plural: str, name: str) -> dict | None:
        group, version = self.ISTIO
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, plural, name)

    def create_istio(self, ns: str, plural: str, body: dict) -> dict:
        group, version = self.ISTIO
        return self._create(self.custom.create_namespaced_custom_object, (group, version, ns, plural), body,
                            lambda: self.istio(ns, plural, body["metadata"]["name"]))

    def merge_istio(self, ns: str, plural: str, name: str, patch: dict) -> dict:
        """Merge patch (CRs take no strategic merge); lists in it replace whole lists."""
        group, version = self.ISTIO
        return self._write(self.custom.patch_namespaced_custom_object, group, version, ns, plural,
                           name, patch, _content_type="application/merge-patch+json")

    # -- Gateway API HTTPRoutes and GRPCRoutes ----------------------------------------------
    GATEWAY = ("gateway.networking.k8s.io", "v1")
    GATEWAY_PLURALS = ("httproutes", "grpcroutes")              # what the RBAC must grant

    def gateway(self, ns: str, name: str) -> dict | None:
        group, version = self.GATEWAY
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, "gateways", name)

    def gatewayclass(self, name: str) -> dict | None:
        """Cluster-scoped: its status says which Extended features the implementation supports."""
        group, version = self.GATEWAY
        return self._read(self.custom.get_cluster_custom_object, group, version, "gatewayclasses", name)

    def crd(self, name: str) -> dict | None:
        """A CustomResourceDefinition (cluster-scoped): its schema says which fields its API serves."""
        return self._read(self.custom.get_cluster_custom_object, "apiextensions.k8s.io", "v1",
                          "customresourcedefinitions", name)

    def grpcroute(self, ns: str, name: str) -> dict | None:
        group, version = self.GATEWAY
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, "grpcroutes", name)

    def replace_grpcroute(self, ns: str, name: str, body: dict) -> dict:
        """PUT with the body's resourceVersion: 409 Conflict when someone wrote since it was read."""
        group, version = self.GATEWAY
        return self._write(self.custom.replace_namespaced_custom_object, group, version, ns,
                           "grpcroutes", name, body)

    def httproute(self, ns: str, name: str) -> dict | None:
        group, version = self.GATEWAY
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, "httproutes", name)

    def replace_httproute(self, ns: str, name: str, body: dict) -> dict:
        """PUT with the body's resourceVersion: 409 Conflict when someone wrote since it was read."""
        group, version = self.GATEWAY
        return self._write(self.custom.replace_namespaced_custom_object, group, version, ns,
                           "httproutes", name, body)

    # -- GitOps controllers' objects (Argo CD Applications, Flux Kustomizations) -----------
    GITOPS = {"applications": ("argoproj.io", "v1alpha1"), "kustomizations": ("kustomize.toolkit.fluxcd.io", "v1"),
              "helmreleases": ("helm.toolkit.fluxcd.io", "v2")}

    def gitops_object(self, plural: str, ns: str, name: str) -> dict | None:
        group, version = self.GITOPS[plural]
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, plural, name)

    FLUX_SOURCE = ("source.toolkit.fluxcd.io", "v1")

    def flux_source(self, ns: str, name: str) -> dict | None:
        """A Flux GitRepository: its status says which revision source-controller last fetched."""
        group, version = self.FLUX_SOURCE
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, "gitrepositories", name)

    def merge_gitops_object(self, plural: str, ns: str, name: str, patch: dict) -> dict:
        group, version = self.GITOPS[plural]
        return self._write(self.custom.patch_namespaced_custom_object, group, version, ns, plural, name, patch,
                           _content_type="application/merge-patch+json")

    # -- Argo Rollouts (what kubectl-argo-rollouts writes) ----------------------------------
    ARGO_ROLLOUTS = ("argoproj.io", "v1alpha1")

    def rollout(self, ns: str, name: str) -> dict | None:
        group, version = self.ARGO_ROLLOUTS
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, "rollouts", name)

    def replace_rollout(self, ns: str, name: str, body: dict) -> dict:
        """PUT with the body's resourceVersion: 409 Conflict when someone wrote since it was read."""
        group, version = self.ARGO_ROLLOUTS
        return self._write(self.custom.replace_namespaced_custom_object, group, version, ns, "rollouts", name, body)

    def merge_rollout(self, ns: str, name: str, patch: dict) -> dict:
        group, version = self.ARGO_ROLLOUTS
        return self._write(self.custom.patch_namespaced_custom_object, group, version, ns, "rollouts", name, patch,
                           _content_type="application/merge-patch+json")

    def merge_rollout_status(self, ns: str, name: str, patch: dict) -> dict:
        """A status change through the status subresource; where it is not served (404), as one
        patch to the object, as kubectl-argo-rollouts does."""
        group, version = self.ARGO_ROLLOUTS
        try:
            return self._write(self.custom.patch_namespaced_custom_object_status, group, version, ns, "rollouts",
                               name, patch, _content_type="application/merge-patch+json")
        except KubeError as err:
            if err.status != 404 or self.rollout(ns, name) is None:
                raise
        return self.merge_rollout(ns, name, patch)

    # -- OpenKruise Rollouts (what kubectl-kruise writes) -----------------------------------
    KRUISE_ROLLOUTS = ("rollouts.kruise.io", "v1beta1")

    def kruise_rollout(self, ns: str, name: str) -> dict | None:
        group, version = self.KRUISE_ROLLOUTS
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, "rollouts", name)

    def merge_kruise_rollout(self, ns: str, name: str, patch: dict) -> dict:
        group, version = self.KRUISE_ROLLOUTS
        return self._write(self.custom.patch_namespaced_custom_object, group, version, ns, "rollouts", name, patch,
                           _content_type="application/merge-patch+json")

    def merge_kruise_rollout_status(self, ns: str, name: str, patch: dict) -> dict:
        group, version = self.KRUISE_ROLLOUTS
        return self._write(self.custom.patch_namespaced_custom_object_status, group, version, ns, "rollouts",
                           name, patch, _content_type="application/merge-patch+json")

    # -- Flagger Canaries (spec.suspend is the only write; its gates are graybot's webhooks) --
    FLAGGER = ("flagger.app", "v1beta1")

    def flagger_canary(self, ns: str, name: str) -> dict | None:
        group, version = self.FLAGGER
        return self._read(self.custom.get_namespaced_custom_object, group, version, ns, "canaries", name)

    def merge_flagger_canary(self, ns: str, name: str, patch: dict) -> dict:
        group, version = self.FLAGGER
        return self._write(self.custom.patch_namespaced_custom_object, group, version, ns, "canaries", name, patch,
                           _content_type="application/merge-patch+json")

    # -- the controllers' lists, shaped like the typed list calls (for the watch) -------------
    def list_namespaced_rollout(self, namespace: str, **kwargs):
        """Argo Rollouts in a namespace, shaped like the typed list calls (for the watch)."""
        group, version = self.ARGO_ROLLOUTS
        return self.custom.list_namespaced_custom_object(group, version, namespace, "rollouts", **kwargs)

    def list_namespaced_kruise_rollout(self, namespace: str, **kwargs):
        """OpenKruise Rollouts in a namespace, shaped like the typed list calls (for the watch)."""
        group, version = self.KRUISE_ROLLOUTS
        return self.custom.list_namespaced_custom_object(group, version, namespace, "rollouts", **kwargs)

    def list_namespaced_httproute(self, namespace: str, **kwargs):
        """HTTPRoutes in a namespace (the health watch sees who else changes a driven route)."""
        group, version = self.GATEWAY
        return self.custom.list_namespaced_custom_object(group, version, namespace, "httproutes", **kwargs)

    def list_namespaced_grpcroute(self, namespace: str, **kwargs):
        """GRPCRoutes in a namespace (watched like HTTPRoutes)."""
        group, version = self.GATEWAY
        return self.custom.list_namespaced_custom_object(group, version, namespace, "grpcroutes", **kwargs)

    def list_namespaced_virtualservice(self, namespace: str, **kwargs):
        """Istio VirtualServices in a namespace (the health watch sees who else changes the weights)."""
        group, version = self.ISTIO
        return self.custom.list_namespaced_custom_object(group, version, namespace, "virtualservices", **kwargs)

    def list_namespaced_flagger_canary(self, namespace: str, **kwargs):
        """Flagger Canaries in a namespace."""
        group, version = self.FLAGGER
        return self.custom.list_namespaced_custom_object(group, version, namespace, "canaries", **kwargs)
