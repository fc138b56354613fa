"""Plan types shared by the engine and the strategies (pure data, no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .model import Stage
from .apps import AppSpec


class PlanError(Exception):
    """The release cannot be planned on this cluster; the message says why."""


@dataclass(frozen=True)
class Target:
    """The cluster facts a plan starts from."""
    app: AppSpec
    stable: dict                    # the serving Deployment (API JSON)
    from_version: str
    to_version: str
    image: str                      # the new version's image
    size: int | None = None         # the replicas its workload runs (a controller's object may not say)

    @property
    def stable_name(self) -> str:
        return self.stable["metadata"]["name"]

    @property
    def replicas(self) -> int:
        """The size the release plans for: the cluster's `replicas:` override, else the stable's."""
        return self.app.replicas or self.size or self.stable["spec"].get("replicas", 1)

    @property
    def new_name(self) -> str:
        return f"{self.app.name}-{self.to_version}"


@dataclass(frozen=True)
class Plan:
    stages: tuple[Stage, ...]
    new_name: str
    origin: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    done: bool
    detail: str = ""
    failure: str = ""               # set when the cluster says this cannot succeed


def main_container(deploy: dict, app: str) -> dict:
    containers = deploy["spec"]["template"]["spec"]["containers"]
    return next((c for c in containers if c["name"] == app), containers[0])


def version_label(deploy: dict) -> str | None:
    return (deploy["spec"]["template"]["metadata"].get("labels") or {}).get("version")
