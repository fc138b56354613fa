"""Is each cluster answering? One probe loop per cluster (GET /version within 2 s),
so a hung API server delays only its own probe. Two failed probes in a row make a cluster down:
every running release in it is paused, saying so; the first answer after that resumes the
releases it paused (never one a person paused). Releases in other clusters are not touched."""
from __future__ import annotations

import logging

from bot.adapters.kube import KubeError
from bot.core import outages
from bot.core.engine import Engine

from .lifecycle import Loop

log = logging.getLogger("graybot.clusterwatch")
DOWN_AFTER = 2          # failed probes in a row
PROBE_TIMEOUT = 2.0     # seconds GET /version may take (or the cluster's read timeout, if shorter)


class ClusterProbe(Loop):
    def __init__(self, engine: Engine, cluster: str, period: float = 2.0):
        super().__init__(period)
        self.name = f"cluster-probe-{cluster}"
        self._thread.name = self.name
        self.engine, self.cluster = engine, cluster
        self.failures, self.down, self.why = 0, False, ""

    def step(self) -> float:
        try:
            self.engine.clusters[self.cluster].ping(PROBE_TIMEOUT)
        except KubeError as err:
            self.failures += 1
            self.why = f"{err.reason}: {err.message}"
            if self.failures >= DOWN_AFTER:
                self._went_down()
            return self.period
        self.failures = 0
        if self.down:
            self.down = False
            log.info("cluster %s answers again", self.cluster)
        outages.release_held(self.engine, self.cluster)   # also picks up pauses left by a restart
        return self.period

    def _went_down(self) -> None:
        if not self.down:
            log.warning("cluster %s is unreachable: %s", self.cluster, self.why)
        self.down = True
        outages.hold(self.engine, self.cluster, self.why)   # again each round: new releases too


class ClusterWatch:
    def __init__(self, engine: Engine, period: float = 2.0):
        self.probes = [ClusterProbe(engine, name, period) for name in engine.clusters]

    def start(self) -> "ClusterWatch":
        for probe in self.probes:
            probe.start()
        return self

    def stop(self) -> None:
        for probe in self.probes:
            probe.stop(timeout=0.5)

    def down(self) -> list[str]:
        return [p.cluster for p in self.probes if p.down]
