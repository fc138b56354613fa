"""What the Slack listeners share: the engine, a Slack client, the access policy, the edge's own
Redis state, and a worker pool that does the Redis/Kubernetes work after the ack. A request is put in a Redis inbox before
the ack and taken out when handled, so a crash in between is noticed and told to the person."""
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
from bot.language.text import status_text

log = logging.getLogger("graybot.edge")


@dataclass
class Edge:
    engine: Engine
    client: WebClient
    policy: Policy
    state: EdgeState
    wake: Callable[..., None] = lambda *a: None
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

    def run_later(self, entry_id: str, request: dict, work: Callable[[], None]) -> None:
        def job():
            try:
                work()
            except Exception as exc:   # the person must hear about it, never silence
                log.exception("request failed: %s", request)
                self.ephemeral(request["channel"], request["user"],
                               f":x: graybot could not finish `{request['what']}`: {exc}. "
                               "The release's live message shows its real state.")
            finally:
                self.state.inbox_done(entry_id)
        self.workers.submit(job)

    def recover_inbox(self, older_than: float = 30.0) -> int:
        """At start-up: tell the people whose requests died with the last process."""
        left = self.state.inbox_stale(older_than)
        for entry_id, request in left:
            app = request.get("app")
            release = self.store.active_for(app) if app else None
            state = f"\nCurrent state:\n```{status_text(release)}```" if release else ""
            self.ephemeral(request["channel"], request["user"],
                           f":warning: graybot restarted while handling `{request['what']}`; "
                           f"it may not have finished. Please check and retry if needed.{state}")
            self.state.inbox_done(entry_id)
        return len(left)
