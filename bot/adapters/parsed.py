"""Releases as last read, so a state read again unchanged is not parsed again: a release is read
many times while it moves (each tick, the live message, the watches), and parsing its JSON into
the typed model cost more than the Redis round trip. Keyed by the exact saved text, so a change
is always parsed; the model is immutable (frozen dataclasses), so one object can be shared."""
from __future__ import annotations

import threading

from bot.domain.model import Release

KEEP = 4096        # releases remembered; more is a full reset (a busy day has ~500 live at once)


class ParsedReleases:
    def __init__(self) -> None:
        self._last: dict[str, tuple[str, Release]] = {}
        self._guard = threading.Lock()

    def parse(self, release_id: str, raw: str) -> Release:
        with self._guard:
            seen = self._last.get(release_id)
        if seen is not None and seen[0] == raw:
            return seen[1]
        release = Release.from_json(raw)
        with self._guard:
            if len(self._last) >= KEEP:
                self._last.clear()
            self._last[release_id] = (raw, release)
        return release
