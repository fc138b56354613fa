"""What the watches have seen, kept for reads: an informer's cache, as Kubernetes controllers keep
one (client-go listers), so a release's tick reads its Deployments and Service from memory instead
of the API server (they were 20 of its 23 requests to reach stage 1).

A read is answered here only when it cannot be older than a GET would be for graybot:
- the (resource, namespace) is being watched right now (listed, stream open; a lost watch stops
  answering until it lists again);
- graybot's own last write to that object has come back through the watch: a write records the
  resourceVersion its response carried (or that it deleted the object), and until an event with
  that exact version arrives the object is read from the API server. Versions are compared only
  for equality, as the API asks (they are opaque).
Anyone else's change is as fresh here as the watch delivers it (milliseconds), as in a controller."""
from __future__ import annotations

import json
import threading
from collections import deque

KEPT = ("deployments", "services")      # what ticks read by name; pods and the rest are only watched
GONE = "-"          # the awaited "version" of an object graybot deleted
RECENT = 16         # versions remembered per object: the watch may show a write (and more) before its writer records it


class Mirror:
    def __init__(self) -> None:
        self._objects: dict[tuple[str, str], dict[str, dict]] = {}      # (plural, ns) -> name -> object
        self._awaited: dict[tuple[str, str, str], str] = {}            # (plural, ns, name) -> version
        self._recent: dict[tuple[str, str, str], deque] = {}            # the last versions the watch showed
        self._guard = threading.Lock()

    # -- fed by the watches ---------------------------------------------------------------
    def listed(self, plural: str, ns: str, items: list[dict]) -> None:
        """A (re)list: the whole namespace's objects of that resource, as of now."""
        if plural not in KEPT:
            return
        fresh = {(item.get("metadata") or {}).get("name", ""): item for item in items}
        with self._guard:
            self._objects[(plural, ns)] = fresh
            for name, item in fresh.items():
                self._recent.setdefault((plural, ns, name), deque(maxlen=RECENT)).append(_version(item))
            for key, version in list(self._awaited.items()):
                if key[:2] == (plural, ns) and _version(fresh.get(key[2])) == version:
                    del self._awaited[key]

    def event(self, plural: str, ns: str, kind: str, obj: dict) -> None:
        if plural not in KEPT:
            return
        name = (obj.get("metadata") or {}).get("name", "")
        with self._guard:
            known = self._objects.get((plural, ns))
            if known is None:
                return                      # not listed (yet): nothing to keep up to date
            if kind == "DELETED":
                known.pop(name, None)
            else:
                known[name] = obj
            key, version = (plural, ns, name), GONE if kind == "DELETED" else _version(obj)
            self._recent.setdefault(key, deque(maxlen=RECENT)).append(version)
            if self._awaited.get(key) == version:
                del self._awaited[key]

    def lost(self, plural: str, ns: str) -> None:
        """The watch broke: answer nothing from this place until it lists again."""
        with self._guard:
            self._objects.pop((plural, ns), None)
            for key in [k for k in self._recent if k[:2] == (plural, ns)]:
                del self._recent[key]

    # -- graybot's own writes -------------------------------------------------------------
    def wrote(self, plural: str, ns: str, name: str, response: dict | None) -> None:
        """graybot wrote the object: reads go to the API server until the watch shows this write
        (at once when it already has: the watch can be quicker than the writer's thread)."""
        if plural not in KEPT:
            return
        version = _version(response) or "?"     # no version to wait for: never trust the cache
        with self._guard:
            if version not in self._recent.get((plural, ns, name), ()):
                self._awaited[(plural, ns, name)] = version

    def deleted(self, plural: str, ns: str, name: str) -> None:
        if plural not in KEPT:
            return
        with self._guard:
            if name in (self._objects.get((plural, ns)) or {}):
                self._awaited[(plural, ns, name)] = GONE

    # -- reads ----------------------------------------------------------------------------
    def get(self, plural: str, ns: str, name: str) -> tuple[bool, dict | None]:
        """(known, object): known is False when the caller must ask the API server. The object is
        the caller's own copy, as a GET's would be."""
        with self._guard:
            known = self._objects.get((plural, ns))
            if known is None or (plural, ns, name) in self._awaited:
                return False, None
            obj = known.get(name)
        # a JSON round trip copies faster than copy.deepcopy, and is what a GET would have parsed
        return True, None if obj is None else json.loads(json.dumps(obj))


def _version(obj: dict | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")
