"""What the Slack listeners share: the engine, a Slack client, the access policy, the edge's own
Redis state, and a worker pool that does the Redis/Kubernetes work after the ack.

Every acked request is written to a Redis inbox first, with everything needed to carry it out
again and the identity of the process that owns it. If that process dies, a living one (at its
start, and the leader every second) claims the entry and carries it out: approvals replay with
the state version seen at the ack, so nothing is done twice, and the person is told what
actually happened."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.edgestate import EdgeState
from bot.adapters.store import Store
from bot.core.engine import Engine
from bot.core.policy import Policy
from bot.domain.apps import Registry

log = logging.getLogger("graybot.edge")
Handler = Callable[["Edge", dict, bool], "str | None"]     # (edge, request, replayed) -> what to tell


@dataclass
class Edge:
    engine: Engine
    client: WebClient
    policy: Policy
    state: EdgeState
    wake: Callable[..., None] = lambda *a: None
    identity: str = "graybot"
    button_key: bytes = b""
    handlers: dict[str, Handler] = field(default_factory=dict)     # request kind -> carry-out
    workers: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(8, "slack-work"))

    @property
    def store(self) -> Store:
        return self.engine.store

    @property
    def registry(self) -> Registry:
        return self.engine.registry

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackApiError as err:
            log.warning("ephemeral to %s failed: %s", user, err.response.get("error"))

    # -- durable requests -------------------------------------------------------------------
    def accept(self, request: dict) -> str:
        """Write the request before the ack (StoreUnavailable when Redis cannot take it)."""
        return self.state.inbox_add(dict(request, owner=self.identity))

    def run_later(self, entry_id: str, request: dict, replayed: bool = False) -> None:
        self.workers.submit(self._carry_out, entry_id, request, replayed)

    def _carry_out(self, entry_id: str, request: dict, replayed: bool) -> None:
        try:
            told = self.handlers[request["kind"]](self, request, replayed)
            if replayed:
                told = (f":recycle: graybot restarted while handling `{request['what']}`; "
                        + (told or "it has now been carried out."))
            if told:
                self.ephemeral(request["channel"], request["user"], told)
        except Exception as exc:   # the person must hear about it, never silence
            log.exception("request failed: %s", request)
            self.ephemeral(request["channel"], request["user"],
                           f":x: graybot could not finish `{request['what']}` ({type(exc).__name__}). "
                           "The release's live message shows its real state.")
        finally:
            self.state.inbox_done(entry_id)

    def recover_inbox(self, older_than: float = 1.0) -> int:
        """Carry out the requests whose owning process died; returns how many were claimed."""
        claimed = 0
        for entry_id, request in self.state.inbox_stale(older_than):
            owner = request.get("owner")
            if owner == self.identity or (owner and self.state.alive(owner)):
                continue                      # in flight here, or a living process is on it
            mine = self.state.inbox_claim(entry_id, dict(request, owner=self.identity))
            if mine is None:
                continue                      # another process claimed it first
            claimed += 1
            if request.get("kind") in self.handlers:
                self.run_later(mine, request, replayed=True)
            else:                             # written by an older graybot: it cannot be replayed
                self.ephemeral(request.get("channel", ""), request.get("user", ""),
                               f":warning: graybot restarted while handling `{request.get('what', 'a request')}`; "
                               "it may not have finished. Please check and retry if needed.")
                self.state.inbox_done(mine)
        return claimed
