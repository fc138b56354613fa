"""The first workload kind: the app's Deployments. The stable Deployment serves; a release adds
the new version's Deployment beside it (or, in place, changes the stable one's template), and
graybot applies every stage itself. Readiness follows kubectl's rollout-status rule."""
from __future__ import annotations

import copy
from typing import Any

from bot.adapters.kube import Kube
from bot.domain.apps import AppSpec
from bot.domain.plans import main_container, version_label


class Deployments:
    kind = "deployment"
    api_kind = "Deployment"
    controller_owns_steps = False
    resource = "deployments"

    def __init__(self, kube: Kube):
        self.kube = kube

    def serving(self, app: AppSpec) -> list[dict[str, Any]]:
        running = (d for d in self.kube.deployments(app.namespace, app.labels) if d["spec"].get("replicas", 0) > 0)
        return sorted(running, key=lambda d: -d["spec"]["replicas"])

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.kube.deployment(namespace, name)

    def image_of(self, obj: dict[str, Any], app: str) -> str:
        return main_container(obj, app)["image"]

    def serving_image(self, obj: dict[str, Any], app: str) -> str:
        return self.image_of(obj, app)

    def version_label(self, obj: dict[str, Any]) -> str | None:
        return version_label(obj)

    def size(self, obj: dict[str, Any]) -> int:
        return obj["spec"].get("replicas", 1)

    def ready(self, obj: dict[str, Any] | None) -> int:
        return ((obj or {}).get("status") or {}).get("readyReplicas", 0)

    def new_version(self, stable: dict[str, Any], app: AppSpec, version: str, image: str,
                    replicas: int) -> dict[str, Any]:
        """The stable template with the new image and label version=VERSION, named APP-VERSION."""
        name = f"{app.name}-{version}"
        template = copy.deepcopy(stable["spec"]["template"])
        labels = dict(template["metadata"].get("labels") or {}, version=version)
        labels.pop("pod-template-hash", None)
        template["metadata"] = {"labels": labels,
                                "annotations": template["metadata"].get("annotations") or {}}
        main_container({"spec": {"template": template}}, app.name)["image"] = image
        selector = dict(stable["spec"]["selector"].get("matchLabels") or app.labels, version=version)
        spec = {k: copy.deepcopy(v) for k, v in stable["spec"].items()
                if k in ("strategy", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds")}
        spec.update(replicas=replicas, selector={"matchLabels": selector}, template=template)
        meta = {"name": name, "namespace": app.namespace,
                "labels": dict(stable["metadata"].get("labels") or {}, version=version),
                "annotations": {"graybot.io/managed": "true"}}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}

    def create(self, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        return self.kube.create_deployment(namespace, obj)

    def scale(self, namespace: str, name: str, replicas: int) -> None:
        self.kube.scale(namespace, name, replicas)

    def patch(self, namespace: str, name: str, patch: Any) -> dict[str, Any]:
        return self.kube.patch_deployment(namespace, name, patch)

    def delete(self, namespace: str, name: str) -> None:
        self.kube.delete_deployment(namespace, name)

    def settled(self, obj: dict[str, Any] | None, replicas: int) -> bool:
        if obj is None:
            return replicas == 0
        s, spec = obj.get("status") or {}, obj["spec"]
        return (spec.get("replicas") == replicas
                and s.get("observedGeneration", 0) >= obj["metadata"].get("generation", 1)
                and s.get("updatedReplicas", 0) == replicas and s.get("replicas", 0) == replicas
                and s.get("availableReplicas", 0) >= replicas)

    def progress(self, obj: dict[str, Any] | None, replicas: int) -> str:
        if obj is None:
            return "not created yet"
        s = obj.get("status") or {}
        return f"{obj['metadata']['name']}: {s.get('availableReplicas', 0)}/{replicas} available"

    def deadline_failure(self, obj: dict[str, Any] | None) -> str:
        for cond in (obj or {}).get("status", {}).get("conditions") or []:
            if cond["type"] == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
                return f"{obj['metadata']['name']}: {cond.get('message', 'progress deadline exceeded')}"  # type: ignore[index]
        return ""
