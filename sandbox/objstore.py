"""In-memory object storage with one global resourceVersion counter and a bounded event log.

Every write, by a client or by the simulated controllers, goes through here, so watches
see every change in order, exactly as they would from etcd through the apiserver's cache.
"""
from __future__ import annotations

import copy
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone

from .errors import expired

StorageKey = tuple[str, str]            # (group, plural)
ObjectKey = tuple[str, str]             # (namespace, name)


def now_rfc3339(at: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if at is None else at, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    rv: int
    skey: StorageKey
    type: str            # ADDED | MODIFIED | DELETED
    obj: dict
    old: dict | None     # the object before a MODIFIED, to tell selector entries and exits


class ObjectStore:
    def __init__(self, history: int = 20000):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._objects: dict[StorageKey, dict[ObjectKey, dict]] = {}
        self._rv = 100
        self._log: deque[Event] = deque(maxlen=history)

    # -- reads -------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, skey: StorageKey, namespace: str, name: str) -> dict | None:
        with self.lock:
            obj = self._objects.get(skey, {}).get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def uids(self, skey: StorageKey) -> set[str]:
        with self.lock:
            return {o["metadata"]["uid"] for o in self._objects.get(skey, {}).values()}

    def list(self, skey: StorageKey, namespace: str | None = None, where=None) -> list[dict]:
        """Copies of the objects (of a namespace), sorted; `where` filters before copying, so a
        controller looking for a few objects does not copy the whole collection."""
        with self.lock:
            bucket = self._objects.get(skey, {})
            items = [o for (ns, _), o in sorted(bucket.items())
                     if namespace in (None, ns) and (where is None or where(o))]
            return copy.deepcopy(items)

    def events_after(self, rv: int) -> list[Event]:
        """Events newer than rv; 410 Expired when rv is older than the kept history."""
        with self.lock:
            if rv >= self._rv:
                return []
            oldest = self._log[0].rv if self._log else self._rv + 1
            if rv < oldest - 1:
                raise expired(rv, oldest)
            return [e for e in self._log if e.rv > rv]

    # -- writes ------------------------------------------------------------------------
    def _bump(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _record(self, skey: StorageKey, kind: str, obj: dict, old: dict | None) -> None:
        self._log.append(Event(int(obj["metadata"]["resourceVersion"]), skey, kind,
                               copy.deepcopy(obj), old))
        self.changed.notify_all()

    def create(self, skey: StorageKey, obj: dict) -> dict:
        with self.lock:
            meta = obj.setdefault("metadata", {})
            meta.setdefault("namespace", meta.get("namespace"))
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            meta["resourceVersion"] = self._bump()
            key = (meta.get("namespace") or "", meta["name"])
            self._objects.setdefault(skey, {})[key] = copy.deepcopy(obj)
            self._record(skey, "ADDED", obj, None)
            return copy.deepcopy(obj)

    def update(self, skey: StorageKey, obj: dict) -> dict:
        with self.lock:
            meta = obj["metadata"]
            key = (meta.get("namespace") or "", meta["name"])
            old = self._objects[skey][key]
            meta["resourceVersion"] = self._bump()
            self._objects[skey][key] = copy.deepcopy(obj)
            self._record(skey, "MODIFIED", obj, old)
            return copy.deepcopy(obj)

    def delete(self, skey: StorageKey, namespace: str, name: str) -> dict | None:
        with self.lock:
            obj = self._objects.get(skey, {}).pop((namespace, name), None)
            if obj is None:
                return None
            obj["metadata"]["resourceVersion"] = self._bump()
            self._record(skey, "DELETED", obj, None)
            return copy.deepcopy(obj)

