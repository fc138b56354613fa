"""A cluster stopped answering: pause the releases running in it (saved, then said in each
thread), and resume exactly those when it answers again. Nothing here calls the cluster."""
from __future__ import annotations

import logging
from typing import Protocol

from bot.adapters.clusters import Clusters
from bot.adapters.store import LockBusy, Store
from bot.domain.model import Event, Phase, Release
from bot.domain.names import GRAYBOT

from .refusals import Refused


class Engine(Protocol):
    """What pausing and resuming for an outage needs of the engine."""
    store: Store
    clusters: Clusters

    def save(self, release: Release, event: Event, actor: str, reason: str = "", detail: str = "",
             extra: dict | None = None) -> Release: ...

    def apply(self, release_id: str, event: Event, actor: str, expected_version: int | None = None,
              reason: str = "", extra: dict | None = None) -> Release: ...

    def announce(self, release: Release, what: str, detail: str) -> None: ...

log = logging.getLogger("graybot.outages")
MARK = "cluster_down"            # option: the cluster whose outage paused the release


def _in(engine: Engine, release: Release, cluster: str) -> bool:
    return engine.clusters.name_of(release.cluster) == cluster


def hold(engine: Engine, cluster: str, why: str) -> list[Release]:
    """Pause every running release in `cluster`; releases elsewhere are not looked at twice."""
    held = []
    for release in engine.store.active():
        if not _in(engine, release, cluster) or release.phase not in (Phase.PROGRESSING, Phase.WAITING):
            continue
        try:
            with engine.store.app_lock(release.app, wait=0.5):
                fresh = engine.store.get(release.id)
                if fresh is not None and fresh.phase in (Phase.PROGRESSING, Phase.WAITING):
                    held.append(engine.save(fresh, Event.PAUSE, GRAYBOT, extra={MARK: cluster},
                                            reason=f"cluster {cluster} is unreachable ({why}); paused until it "
                                                   "answers again, then it goes on by itself"))
        except (LockBusy, Refused) as err:       # busy or moved on: the next probe looks again
            log.info("holding %s for %s's outage: %s", release.id, cluster, err)
    return held


def release_held(engine: Engine, cluster: str) -> list[Release]:
    """Resume the releases this cluster's outage paused (a person's pause stays)."""
    resumed = []
    for release in engine.store.outage_held():      # an index kept by each save: not every release
        if release.phase != Phase.PAUSED or release.runtime.cluster_down != cluster:   # whoever noticed the outage
            continue
        try:
            resumed.append(engine.apply(release.id, Event.RESUME, GRAYBOT, release.version,
                                        reason="", extra={MARK: None}))
            engine.announce(resumed[-1], "cluster_ok", f"cluster {cluster} answers again")
        except Refused as err:
            log.info("resuming %s after %s's outage: %s", release.id, cluster, err)
    return resumed
