"""Hands a watch's events to a thread of their own, newest state per object: the watch reads on
(its mirror of the cluster stays current) while a handler waits on Redis or the API server. On a
busy day the handlers' round trips held a watch seconds behind the cluster; an object that changed
twice meanwhile is handled once, in its newest state (what every handler looks at)."""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Callable

log = logging.getLogger("graybot.relay")


class Relay:
    def __init__(self, handler: Callable[[str, dict], None], stop: threading.Event, name: str):
        self.handler, self.stop = handler, stop
        self._pending: OrderedDict[tuple[str, str], tuple[str, dict]] = OrderedDict()
        self._ready = threading.Condition()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def __call__(self, kind: str, obj: dict) -> None:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace") or "", meta.get("name") or "")
        with self._ready:
            self._pending.pop(key, None)        # its place in line is its newest change's
            self._pending[key] = (kind, obj)
            self._ready.notify()

    def _run(self) -> None:
        while not self.stop.is_set():
            with self._ready:
                if not self._pending:
                    self._ready.wait(0.5)
                    continue
                _, (kind, obj) = self._pending.popitem(last=False)
            try:
                self.handler(kind, obj)
            except Exception:       # one bad event must not end the watch's handling
                log.exception("handling a %s event", kind)

    def join(self, timeout: float) -> None:
        with self._ready:
            self._ready.notify_all()
        self.thread.join(timeout)
