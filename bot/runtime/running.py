"""The releases applying or waiting at a stage, in memory for the watches: every pod, Deployment
and Service event of every app is matched against them, so reading them from Redis per event (as
this was) cost a read of every release per event on a busy day.

What this process saves updates them at once (`saved`); a read of all of them, at most every
REFRESH seconds while events come (and at once for an object of no known release, at most every
UNKNOWN_REFRESH), finds what other processes started. Staleness is safe: whoever acts on a match
reads the release again under its lock."""
from __future__ import annotations

import threading
import time
from typing import Callable

from bot.domain.apps import Registry
from bot.domain.model import Phase, Release

WATCHED = (Phase.PROGRESSING, Phase.WAITING)
REFRESH = 5.0           # seconds between full reads while events come
UNKNOWN_REFRESH = 0.5   # an object of no known release reads them all again, at most this often


class Running:
    def __init__(self, active: Callable[[], list[Release]], registry: Registry):
        self.active, self.registry = active, registry
        self._by_id: dict[str, Release] = {}
        self._by_name: dict[str, set[str]] = {}                 # Deployment name -> release ids
        self._by_label: dict[tuple[str, str], set[str]] = {}    # one of its app's pod labels -> ids
        self._read_at = -REFRESH
        self._guard = threading.Lock()

    # -- keeping up -------------------------------------------------------------------------
    def saved(self, release: Release) -> None:
        with self._guard:
            self._drop(release.id)
            if release.phase in WATCHED:
                self._add(release)

    def _read_all(self) -> None:
        fresh = [r for r in self.active() if r.phase in WATCHED]
        with self._guard:
            self._by_id, self._by_name, self._by_label = {}, {}, {}
            for release in fresh:
                self._add(release)
            self._read_at = time.monotonic()

    def _add(self, release: Release) -> None:
        self._by_id[release.id] = release
        for name in {release.new_name, release.stable_name}:
            self._by_name.setdefault(name, set()).add(release.id)
        self._by_label.setdefault(self._label_key(release), set()).add(release.id)

    def _drop(self, release_id: str) -> None:
        old = self._by_id.pop(release_id, None)
        if old is None:
            return
        for name in {old.new_name, old.stable_name}:
            self._by_name.get(name, set()).discard(release_id)
        self._by_label.get(self._label_key(old), set()).discard(release_id)

    def _label_key(self, release: Release) -> tuple[str, str]:
        """One label every pod of the app carries (the first of its selector), ("", "") if none."""
        app = self.registry.get(release.app)
        labels = sorted((app.labels if app else {}).items())
        return labels[0] if labels else ("", "")

    def _due(self, every: float) -> bool:
        return time.monotonic() - self._read_at > every

    def _refresh_if_due(self) -> None:
        if self._due(REFRESH):
            self._read_all()

    # -- reads ------------------------------------------------------------------------------
    def all(self) -> list[Release]:
        self._refresh_if_due()
        with self._guard:
            return list(self._by_id.values())

    def named(self, name: str) -> list[Release]:
        """The releases with a Deployment (or controller object) of that name; read again, at most
        every UNKNOWN_REFRESH, when there is none (a release another process started a moment ago)."""
        found = self._named(name)
        if not found and self._due(UNKNOWN_REFRESH):
            self._read_all()
            found = self._named(name)
        return found

    def _named(self, name: str) -> list[Release]:
        self._refresh_if_due()
        with self._guard:
            return [self._by_id[i] for i in self._by_name.get(name, ()) if i in self._by_id]

    def labelled(self, labels: dict[str, str]) -> list[Release]:
        """The releases whose app's pods could carry these labels (callers match exactly)."""
        self._refresh_if_due()
        with self._guard:
            ids = set(self._by_label.get(("", ""), ()))
            for pair in labels.items():
                ids |= self._by_label.get(pair, set())
            return [self._by_id[i] for i in ids if i in self._by_id]
