"""One Kubernetes client per cluster of apps.yaml's `clusters:` (or the one `default` cluster from
KUBECONFIG). Each has its own connection pool, timeouts and `reachable` flag, so an unreachable
cluster costs only the releases in it their timeouts."""
from __future__ import annotations

from typing import Iterator

from bot.domain.clusters import DEFAULT_CLUSTER, ClusterSpec

from .kube import Kube, KubeError


class UnknownCluster(KeyError):
    pass


class Clusters:
    def __init__(self, kubes: dict[str, Kube], specs: dict[str, ClusterSpec] | None = None):
        if not kubes:
            raise ValueError("at least one cluster")
        self.kubes = dict(kubes)
        self.specs = specs or {name: ClusterSpec(name) for name in kubes}
        self.default = next(iter(self.kubes))

    @classmethod
    def connect(cls, specs: dict[str, ClusterSpec], kubeconfig: str = "", **options) -> "Clusters":
        """A client for every cluster, or KubeError naming every one whose configuration is wrong
        (a missing file, an unknown context): a config mistake stops graybot at start."""
        kubes, problems = {}, []
        for name, spec in specs.items():
            path = spec.kubeconfig or (kubeconfig if name == DEFAULT_CLUSTER or len(specs) == 1 else "")
            own = dict(options)
            if spec.timeout:            # this cluster's own read timeout
                own["timeout"] = (options.get("timeout", (3.0, 5.0))[0], spec.timeout)
            try:
                kubes[name] = Kube.from_config(path or None, context=spec.context,
                                               in_cluster=spec.in_cluster, **own)
                kubes[name].name = name
            except KubeError as err:
                problems.append(f"clusters.{name} ({spec.describe()}): {err.message}")
        if problems:
            raise KubeError(0, "BadConfig", "; ".join(problems))
        return cls(kubes, specs)

    def __getitem__(self, name: str) -> Kube:
        try:
            return self.kubes[name or self.default]
        except KeyError:
            raise UnknownCluster(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self.kubes

    def __iter__(self) -> Iterator[str]:
        return iter(self.kubes)

    def name_of(self, cluster: str) -> str:
        """Records from before clusters carry "": they ran in the default cluster."""
        return cluster or self.default

    def unreachable(self) -> list[str]:
        return [name for name, kube in self.kubes.items() if not kube.reachable]

    def rejecting(self) -> list[str]:
        """Clusters whose API server refused graybot's credentials on its last call (401/403)."""
        return [name for name, kube in self.kubes.items() if kube.rejected]

    def close(self) -> None:
        for kube in self.kubes.values():
            kube.close()
