"""The worker's end of the ack path run apart (bot/edge.py): an edge process writes each request
to the inbox owned by this worker and queues it for this worker in the same atomic step; this loop
takes the queue in order (a blocking pop: no polling while nothing comes) and hands each entry to
the inbox's workers. The entry stays in the inbox until it is carried out, so a worker that dies
with a queue loses nothing: its entries are recovered by the next leader, as any dead process's."""
from __future__ import annotations

import logging

from bot.adapters.edgestate import StoreUnavailable, blocking_client

from .inbox import Inbox
from .lifecycle import Loop

log = logging.getLogger("graybot.handoff")
WAIT = 1.0          # seconds one blocking pop waits; also how soon stop() is noticed


class HandedOff(Loop):
    name = "handed-off"

    def __init__(self, inbox: Inbox, wait: float = WAIT):
        super().__init__(period=wait)
        self.inbox, self.wait = inbox, wait
        self.conn = blocking_client(inbox.state.r, wait)
        self._down = False

    def step(self) -> float:
        try:
            got = self.inbox.state.inbox_next(self.inbox.identity, self.wait, self.conn)
        except StoreUnavailable as exc:
            if not self._down:          # once per outage, not once a second
                log.warning("cannot read the hand-off queue: %s", exc)
            self._down = True
            return self.wait
        self._down = False
        if got is not None:
            self.inbox.take(*got)
        return 0.0

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        self.conn.close()
