"""In-memory object storage with one global resourceVersion counter and a bounded event log.

Every write, by a client or by the simulated controllers, goes through here, so watches
see every change in order, exactly as they would from etcd through the apiserver's cache.

Objects are kept per kind and namespace, with an index from a controller's uid to what it
owns, so a namespaced list or "the ReplicaSets of this Deployment" costs by the answer,
not by the whole collection (500 apps and 2,500 pods on two cores). Stored
objects are never changed in place (every write stores a fresh clone), so the controllers
may read them through `peek`/`children` without copying.
"""
from __future__ import annotations

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


def clone(value):
    """A deep copy of JSON-shaped data (dicts, lists, scalars): several times faster than
    copy.deepcopy, which the API objects do not need (no cycles, no custom classes)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def _controller_uid(obj: dict) -> str | None:
    return next((ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or []
                 if ref.get("controller")), None)


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
        self._objects: dict[StorageKey, dict[str, dict[str, dict]]] = {}   # kind -> ns -> name -> obj
        self._children: dict[StorageKey, dict[str, set[ObjectKey]]] = {}   # kind -> owner uid -> keys
        self._rv = 100
        self._log: deque[Event] = deque(maxlen=history)

    # -- reads -------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    def _live(self, skey: StorageKey, namespace: str, name: str) -> dict | None:
        return self._objects.get(skey, {}).get(namespace, {}).get(name)

    def get(self, skey: StorageKey, namespace: str, name: str) -> dict | None:
        with self.lock:
            obj = self._live(skey, namespace, name)
            return clone(obj) if obj is not None else None

    def peek_one(self, skey: StorageKey, namespace: str, name: str) -> dict | None:
        """The stored object itself (not a copy), for a reader that does not change it."""
        with self.lock:
            return self._live(skey, namespace, name)

    def uids(self, skey: StorageKey) -> set[str]:
        with self.lock:
            return {o["metadata"]["uid"] for o in self._iter(skey, None)}

    def _iter(self, skey: StorageKey, namespace: str | None, ordered: bool = True):
        spaces = self._objects.get(skey, {})
        arrange = sorted if ordered else iter
        for ns in arrange(spaces) if namespace is None else [namespace]:
            bucket = spaces.get(ns, {})
            for name in arrange(bucket):
                yield bucket[name]

    def peek(self, skey: StorageKey, namespace: str | None = None, where=None) -> list[dict]:
        """The stored objects themselves, in no set order, for readers that do not change them."""
        with self.lock:
            return [o for o in self._iter(skey, namespace, ordered=False) if where is None or where(o)]

    def list(self, skey: StorageKey, namespace: str | None = None, where=None) -> list[dict]:
        """Copies of the objects (of a namespace), sorted by namespace and name, as the
        apiserver lists them; `where` filters before copying."""
        with self.lock:
            return [clone(o) for o in self._iter(skey, namespace) if where is None or where(o)]

    def orphans(self, skey: StorageKey, *owner_skeys: StorageKey) -> list[ObjectKey]:
        """Objects whose controller (of one of the kinds owner_skeys) no longer exists."""
        with self.lock:
            owners = set().union(*(self.uids(k) for k in owner_skeys))
            return sorted(key for uid, keys in self._children.get(skey, {}).items()
                          if uid not in owners for key in keys)

    def children(self, skey: StorageKey, owner_uid: str) -> list[dict]:
        """The stored objects whose controller is `owner_uid` (not copies), by name."""
        with self.lock:
            keys = sorted(self._children.get(skey, {}).get(owner_uid, ()))
            return [o for o in (self._live(skey, ns, name) for ns, name in keys) if o is not None]

    def events_after(self, rv: int) -> list[Event]:
        """Events newer than rv; 410 Expired when rv is older than the kept history."""
        with self.lock:
            if rv >= self._rv:
                return []
            oldest = self._log[0].rv if self._log else self._rv + 1
            if rv < oldest - 1:
                raise expired(rv, oldest)
            # the log is in rv order: walk back from the newest, not forward over all of it
            newer = []
            for event in reversed(self._log):
                if event.rv <= rv:
                    break
                newer.append(event)
            newer.reverse()
            return newer

    # -- writes ------------------------------------------------------------------------
    def _bump(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _record(self, skey: StorageKey, kind: str, obj: dict, old: dict | None) -> None:
        self._log.append(Event(int(obj["metadata"]["resourceVersion"]), skey, kind, obj, old))
        self.changed.notify_all()

    def _index(self, skey: StorageKey, key: ObjectKey, old: dict | None, new: dict | None) -> None:
        before = _controller_uid(old) if old is not None else None
        after = _controller_uid(new) if new is not None else None
        if before == after:
            return
        owners = self._children.setdefault(skey, {})
        if before is not None:
            owners.get(before, set()).discard(key)
            if not owners.get(before):
                owners.pop(before, None)
        if after is not None:
            owners.setdefault(after, set()).add(key)

    def _put(self, skey: StorageKey, obj: dict, kind: str) -> dict:
        meta = obj["metadata"]
        key = (meta.get("namespace") or "", meta["name"])
        bucket = self._objects.setdefault(skey, {}).setdefault(key[0], {})
        old = bucket.get(key[1])
        meta["resourceVersion"] = self._bump()
        stored = clone(obj)
        bucket[key[1]] = stored
        self._index(skey, key, old, stored)
        self._record(skey, kind, stored, old)
        return clone(stored)

    def create(self, skey: StorageKey, obj: dict) -> dict:
        with self.lock:
            meta = obj.setdefault("metadata", {})
            meta.setdefault("namespace", meta.get("namespace"))
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            return self._put(skey, obj, "ADDED")

    def update(self, skey: StorageKey, obj: dict) -> dict:
        with self.lock:
            meta = obj["metadata"]
            if self._live(skey, meta.get("namespace") or "", meta["name"]) is None:
                raise KeyError((skey, meta.get("namespace"), meta["name"]))
            return self._put(skey, obj, "MODIFIED")

    def delete(self, skey: StorageKey, namespace: str, name: str) -> dict | None:
        with self.lock:
            obj = self._objects.get(skey, {}).get(namespace, {}).pop(name, None)
            if obj is None:
                return None
            gone = clone(obj)
            gone["metadata"]["resourceVersion"] = self._bump()
            self._index(skey, (namespace, name), obj, None)
            self._record(skey, "DELETED", gone, None)
            return clone(gone)
