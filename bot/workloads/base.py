"""The workload seam: "the thing a release moves" in one cluster, whatever its kind.

Strategies, the planner, the health watch, the cluster check and the live message's ready-pod
counts reach the app's pods only through a Workload. The first kind is today's: a pair of
Deployments (deployments.py), where graybot applies every stage itself. A kind whose controller
owns the stages (an Argo Rollout runs its own setWeight/pause steps) says so with
`controller_owns_steps`: graybot then approves the controller's pauses instead of applying stages,
the way `Router.exact_weights` lets a router say how it splits traffic.

Routes and Services are not the workload: routers reach them through `kube`, the cluster's client.
"""
from __future__ import annotations

from typing import Any, Protocol

from bot.adapters.kube import Kube, KubeError
from bot.domain.apps import AppSpec


class Workload(Protocol):
    kind: str                        # apps.yaml `workload:` (deployment)
    api_kind: str                    # the Kubernetes kind of its objects (Deployment)
    controller_owns_steps: bool      # True: a controller runs the stages; graybot approves its pauses
    resource: str                    # the API resource the health watch follows beside pods
    kube: Kube                       # the cluster's client, for routers and Services

    # -- what serves the app --------------------------------------------------------------------
    def serving(self, app: AppSpec) -> list[dict[str, Any]]:
        """The objects of `app` that run pods now, largest first."""
    def get(self, namespace: str, name: str) -> dict[str, Any] | None: ...
    def image_of(self, obj: dict[str, Any], app: str) -> str:
        """The image its template asks for."""
    def serving_image(self, obj: dict[str, Any], app: str) -> str:
        """The image its stable pods run (a controller's template may ask for another meanwhile)."""
    def version_label(self, obj: dict[str, Any]) -> str | None: ...
    def size(self, obj: dict[str, Any]) -> int:
        """The replicas it is asked to run."""
    def ready(self, obj: dict[str, Any] | None) -> int:
        """Its ready pods (0 when it does not exist)."""

    # -- moving it ----------------------------------------------------------------------------------
    def new_version(self, stable: dict[str, Any], app: AppSpec, version: str, image: str,
                    replicas: int) -> dict[str, Any]:
        """The new version's object, made from the stable one (pure)."""
    def create(self, namespace: str, obj: dict[str, Any]) -> dict[str, Any]: ...
    def scale(self, namespace: str, name: str, replicas: int) -> None: ...
    def patch(self, namespace: str, name: str, patch: Any) -> dict[str, Any]: ...
    def delete(self, namespace: str, name: str) -> None: ...

    # -- how far it got -----------------------------------------------------------------------------
    def settled(self, obj: dict[str, Any] | None, replicas: int) -> bool:
        """It runs exactly `replicas` available pods of its current template."""
    def progress(self, obj: dict[str, Any] | None, replicas: int) -> str: ...
    def deadline_failure(self, obj: dict[str, Any] | None) -> str:
        """Why it cannot succeed, as its controller says ("" when nothing says so)."""


class Controller(Workload, Protocol):
    """A workload whose controller runs the steps (`controller_owns_steps`): what
    strategies/controlled.py asks of it, besides the Workload's reads."""
    def steps(self, obj: dict[str, Any]) -> list[dict[str, Any]]: ...
    def pause_points(self, steps: list[dict[str, Any]]) -> list[int]:
        """The 0-based steps where a person approves."""
    def stages(self, obj: dict[str, Any], replicas: int) -> tuple: ...
    def template(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The object whose `spec.template` is the pods' (the Rollout, or the Deployment it drives)."""
    def origin(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def set_image(self, namespace: str, name: str, container: str, image: str) -> dict[str, Any]: ...
    def paused_at(self, obj: dict[str, Any] | None) -> int | None: ...
    def in_update(self, obj: dict[str, Any]) -> bool: ...
    def trouble(self, obj: dict[str, Any], origin: dict[str, Any], first_stage: bool) -> tuple[str, str]: ...
    def promote(self, namespace: str, name: str) -> None: ...
    def undo(self, obj: dict[str, Any], container: str, from_image: str, replicas: int) -> tuple[bool, str]: ...
    def pause(self, namespace: str, name: str) -> None: ...
    def resume(self, namespace: str, name: str) -> None: ...
    def describe(self, obj: dict[str, Any] | None) -> dict[str, Any]: ...
    def missing(self, app: AppSpec) -> str: ...
    def problems(self, obj: dict[str, Any]) -> list[str]:
        """What the object lacks for graybot to drive it (none for most)."""


class ControllerOwned:
    """What graybot never does to a controller's object (the controller makes, scales and keeps
    its pods): the Workload's write methods, refused."""
    api_kind = "object"

    def problems(self, obj: dict[str, Any]) -> list[str]:
        return []

    def new_version(self, stable: dict[str, Any], app: AppSpec, version: str, image: str,
                    replicas: int) -> dict[str, Any]:
        raise NotImplementedError(f"a {self.api_kind}'s controller makes its own pods")

    def create(self, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError(f"a {self.api_kind}'s controller makes its own pods")

    def scale(self, namespace: str, name: str, replicas: int) -> None:
        raise NotImplementedError(f"a {self.api_kind}'s steps decide its sizes")

    def delete(self, namespace: str, name: str) -> None:
        raise NotImplementedError(f"graybot never deletes a {self.api_kind}")


class DrivesDeployment(ControllerOwned):
    """A controller's object that drives a Deployment, read with it under "workload" (a Kruise
    Rollout's `workloadRef`, a Flagger Canary's `targetRef`): the new image goes into that
    Deployment's template. Subclasses read the object (`get`) and name its kind (`missing`)."""
    kube: Kube

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def serving(self, app: AppSpec) -> list[dict[str, Any]]:
        found = self.get(app.namespace, app.object or app.name)
        return [found] if found is not None else []

    def template(self, obj: dict[str, Any]) -> dict[str, Any]:
        return obj["workload"]

    @staticmethod
    def _container(holder: dict[str, Any], app: str) -> dict[str, Any]:
        containers = holder["spec"]["template"]["spec"]["containers"]
        return next((c for c in containers if c["name"] == app), containers[0])

    def image_of(self, obj: dict[str, Any], app: str) -> str:
        return self._container(obj["workload"], app)["image"]

    def version_label(self, obj: dict[str, Any]) -> str | None:
        return None

    def set_image(self, namespace: str, name: str, container: str, image: str) -> dict[str, Any]:
        """The new image in the template of the Deployment the object drives."""
        obj = self.get(namespace, name)
        if obj is None:
            raise KubeError(404, "NotFound", f"{self.api_kind} {namespace}/{name} is gone")
        self.kube.patch_deployment(namespace, obj["workload"]["metadata"]["name"], {"spec": {"template": {"spec": {
            "containers": [{"name": container, "image": image}]}}}})
        return self.get(namespace, name) or obj
