"""The durable request lifecycle, for every chat edge: accept (write the request to the Redis
inbox before the ack) -> carry out (on a worker, after the ack) -> tell the person -> done.

Every acked request is written with everything needed to carry it out again and the identity of
the process that owns it. If that process dies, a living one (at its start, and the leader every
second) claims the entry and carries it out: approvals replay with the state version seen at the
ack, so nothing is done twice, and the person is told what actually happened."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Protocol

from bot.adapters.edgestate import EdgeState, FirstSight
from bot.core.requests import Request, Said, Tone

from .driver import join_pool

log = logging.getLogger("graybot.inbox")
CarryOut = Callable[[Request, bool], "Said | None"]      # (request, replayed) -> what to tell


class Replier(Protocol):
    """How an edge tells one person something about their request (privately)."""

    def tell(self, request: Request, said: Said) -> None: ...


class Inbox:
    def __init__(self, state: EdgeState, carry_out: CarryOut, replier: Replier, identity: str = "graybot",
                 workers: int = 8, worker: str | None = None):
        """`worker`: in an edge process (the ack path alone, bot/edge.py), the identity of the
        worker process that carries out what this one accepts; None: this process does."""
        self.state, self.carry, self.replier, self.identity = state, carry_out, replier, identity
        self.worker = worker
        self.workers = ThreadPoolExecutor(workers, "request-work")

    def seen_before(self, token: str, window: int) -> bool:
        """The replay guard: True when this exact signed request was already received within
        `window` seconds (StoreUnavailable when Redis cannot answer)."""
        return not self.state.first_sight(token, window)

    def accept(self, request: Request, once: FirstSight | None = None) -> str:
        """Write the request before the ack (StoreUnavailable when Redis cannot take it). `once`:
        the replay guard's check, made in the same round trip (Replayed: seen before, nothing written)."""
        if self.worker:
            return self.state.inbox_hand_off(request.owned_by(self.worker).to_entry(), self.worker, once)
        return self.state.inbox_add(request.owned_by(self.identity).to_entry(), once)

    def run_later(self, entry_id: str, request: Request, replayed: bool = False) -> None:
        if self.worker:
            return                # handed off: the worker takes it from its queue (HandedOff)
        self.workers.submit(self._carry_out, entry_id, request, replayed)

    def tell_later(self, request: Request, said: Said) -> None:
        self.workers.submit(self.replier.tell, request, said)

    def _carry_out(self, entry_id: str, request: Request, replayed: bool) -> None:
        try:
            told = self.carry(request, replayed)
            if replayed:
                told = Said(f"graybot restarted while handling `{request.what}`; "
                            + (told.text if told else "it has now been carried out."), Tone.RESUMED)
            if told:
                self.replier.tell(request, told)
        except Exception as exc:   # the person must hear about it, never silence
            log.exception("request failed: %s", request.what)
            self.replier.tell(request, Said(f"graybot could not finish `{request.what}` ({type(exc).__name__}). "
                                            "The release's live message shows its real state.", Tone.FAILED))
        finally:
            self.state.inbox_done(entry_id)

    def recover(self, older_than: float = 1.0) -> int:
        """Carry out the requests whose owning process died; returns how many were claimed."""
        claimed = 0
        for entry_id, entry in self.state.inbox_stale(older_than):
            owner = entry.get("owner")
            if owner == self.identity or (owner and self.state.alive(owner)):
                continue                      # in flight here, or a living process is on it
            mine = self.state.inbox_claim(entry_id, dict(entry, owner=self.identity))
            if mine is None:
                continue                      # another process claimed it first
            claimed += 1
            request = Request.from_entry(entry)
            if request.kind in ("command", "action"):
                self.run_later(mine, request, replayed=True)
            else:                             # written by an older graybot: it cannot be replayed
                self.replier.tell(request, Said(f"graybot restarted while handling `{request.what}`; it may not "
                                                "have finished. Please check and retry if needed.", Tone.WARNING))
                self.state.inbox_done(mine)
        return claimed

    def take(self, entry_id: str, entry: dict) -> None:
        """The worker's side of a hand-off: carry out an entry an edge process accepted for it."""
        self.workers.submit(self._carry_out, entry_id, Request.from_entry(entry), False)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what was acked (bounded: what is left is carried out by the next process)."""
        self.workers.shutdown(wait=False, cancel_futures=False)
        join_pool(self.workers, timeout)
