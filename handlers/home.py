"""graybot's Home tab. Opening it (`app_home_opened`, tab `home`) only records, in Redis, that
the person looks at it; the process that runs releases publishes their board (`views.publish`)
from a thread of its own, and publishes it again after every saved change for everyone who opened
it in the last day, coalesced: at most once per person every GAP seconds (views.publish is rate
limited per user), so a burst of changes costs one publish. The view id Slack gives back is kept:
a click on the Home tab's buttons is accepted only from that view (bot/core/desk.py)."""
from __future__ import annotations

import logging
import threading
import time

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters import telemetry
from bot.adapters.edgestate import EdgeState
from bot.core.board import board_for
from bot.core.engine import Engine
from bot.core.policy import Policy
from bot.domain.model import Release
from bot.domain.names import OBSERVED

from .edge import Edge
from .home_blocks import home_view

log = logging.getLogger("graybot.home")
VIEWERS_WITHIN = 86400.0      # a Home tab opened longer ago than this is no longer kept up to date
GAP = 2.0                     # seconds between two publishes of one person's Home tab
QUIET = 1.0                   # seconds a "nobody looks" answer is trusted


def register(app: App, edge: Edge) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict) -> None:         # Bolt acks events itself: this only records
        if event.get("tab", "home") == "home" and event.get("user"):
            edge.state.home_opened(event["user"])


class HomeTab:
    def __init__(self, client: WebClient, engine: Engine, policy: Policy, state: EdgeState, button_key: bytes,
                 period: float = 0.5):
        self.client, self.engine, self.policy, self.state = client, engine, policy, state
        self.button_key, self.period = button_key, period
        self._last: dict[str, float] = {}
        self._quiet_until = 0.0                       # nobody looked at a Home tab a moment ago
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_change(self, release: Release, what: str, detail: str) -> None:
        """A live refresh changes nothing a board shows; while nobody has a Home tab open, a
        burst of changes costs one Redis read a second (opening one is published regardless)."""
        if what == OBSERVED or time.monotonic() < self._quiet_until:
            return
        if self.state.home_changed(VIEWERS_WITHIN) == 0:
            self._quiet_until = time.monotonic() + QUIET

    def start(self) -> "HomeTab":
        self._thread = threading.Thread(target=self._loop, name="home-tab", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.round()
            except Exception:           # Redis or Slack down: the next round tries again
                log.exception("home tab round failed")

    def round(self) -> int:
        """Publish the Home tab of everyone waiting for it (not sooner than GAP after the last)."""
        later, published, now = [], 0, time.monotonic()
        for user in self.state.home_take():
            if now - self._last.get(user, -GAP) < GAP:
                later.append(user)
                continue
            self._last[user] = now
            published += self.publish(user)
        self.state.home_again(later)
        return published

    def publish(self, user: str) -> int:
        view = home_view(board_for(self.engine, self.policy, user), self.button_key, time.time())
        try:
            answer = self.client.views_publish(user_id=user, view=view)
        except SlackApiError as err:
            telemetry.CHAT_ERRORS.labels(call="views.publish").inc()
            log.warning("views.publish for %s failed: %s", user, err.response.get("error"))
            return 0
        self.state.set_home_view(user, answer["view"]["id"])
        return 1
