"""The worker's end of the ack path run apart (bot/edge.py): an edge process writes each request
to the inbox owned by this worker and queues it for this worker in the same atomic step; this loop
takes the queue in order (a blocking pop: no polling while nothing comes) and hands each entry to
the inbox's workers. The entry stays in the inbox until it is carried out, so a worker that dies
with a queue loses nothing: its entries are recovered by the next leader, as any dead process's."""
from __future__ import annotations

import logging
import time

from bot.adapters.edgestate import StoreUnavailable, blocking_client

from .inbox import Inbox
from .lifecycle import Loop

log = logging.getLogger("graybot.handoff")
WAIT = 1.0          # seconds one blocking pop waits; also how soon stop() is noticed
QUIET = 0.02        # a burst is over when no request came for this long ...
BURST_MAX = 0.25    # ... or after this long: the work after the acks waits at most this much


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
            for entry in [got, *self._rest_of_burst()]:
                self.inbox.take(*entry)
        return 0.0

    def _rest_of_burst(self) -> list[tuple[str, dict]]:
        """Acks first: while requests keep coming (50 people clicking at once), they are gathered
        and carried out once the edge has acked them, so the work after the ack (Redis, Slack,
        rendering) does not take the machine's cores from the acks still to come. The queue is
        looked at every QUIET seconds (what came since, in one pop), not woken for each request:
        a wake-up and a Redis round trip per request would be work during the burst too. A lone
        request waits QUIET seconds, which nobody sees; each one is in the inbox already."""
        rest: list[tuple[str, dict]] = []
        deadline = time.monotonic() + BURST_MAX
        while time.monotonic() < deadline:
            time.sleep(QUIET)
            try:
                came = self.inbox.state.inbox_queued(self.inbox.identity)
            except StoreUnavailable:
                break                   # what was gathered is carried out; the next step says why
            if not came:
                break
            rest += came
        return rest

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        self.conn.close()
