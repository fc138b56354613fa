"""Services and Ingresses, over the official client's CoreV1Api and NetworkingV1Api (`self.core`,
`self.net`, made by Kube, the module that imports `kubernetes`). A mixin of Kube. A Service is read
from the watches' mirror when it can be (mirror.py), like a Deployment."""
from __future__ import annotations


class Networking:
    # -- Services -------------------------------------------------------------------------
    def service(self, ns: str, name: str) -> dict | None:
        known, obj = self.mirror.get("services", ns, name)
        return obj if known else self._read(self.core.read_namespaced_service, name, ns)

    def set_service_selector(self, ns: str, name: str, selector: dict[str, str]) -> dict:
        """Replace the selector whole (a merge patch could only add keys)."""
        return self._wrote("services", ns, name, self._write(
            self.core.patch_namespaced_service, name, ns,
            [{"op": "replace", "path": "/spec/selector", "value": selector}],
            _content_type="application/json-patch+json"))

    def create_service(self, ns: str, body: dict) -> dict:
        name = body["metadata"]["name"]
        return self._wrote("services", ns, name, self._create(self.core.create_namespaced_service, (ns,), body,
                                                              lambda: self.service(ns, name)))

    def delete_service(self, ns: str, name: str) -> bool:
        self.mirror.deleted("services", ns, name)
        return self._delete(self.core.delete_namespaced_service, name, ns)

    # -- Ingresses (ingress-nginx canary) ----------------------------------------------------
    def ingress(self, ns: str, name: str) -> dict | None:
        return self._read(self.net.read_namespaced_ingress, name, ns)

    def create_ingress(self, ns: str, body: dict) -> dict:
        return self._create(self.net.create_namespaced_ingress, (ns,), body,
                            lambda: self.ingress(ns, body["metadata"]["name"]))

    def patch_ingress(self, ns: str, name: str, patch: dict) -> dict:
        return self._write(self.net.patch_namespaced_ingress, name, ns, patch)

    def delete_ingress(self, ns: str, name: str) -> bool:
        return self._delete(self.net.delete_namespaced_ingress, name, ns)
