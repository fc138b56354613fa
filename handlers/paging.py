"""Approvers paged: when a release waits for approval, each person who may approve that gate
(bot/core/board.py `to_page`: the approvers, members of approver groups one by one) gets one
direct message with the stage, the gate's evidence and Approve / Rollback buttons, carrying the
same signed values as the live message and going through the same policy. When anyone acts, every
one of those messages changes to say who did what, and its buttons go. One message per person per
waiting gate: the gate is claimed in Redis by one process, and each message is recorded as it is
sent (a click on it is accepted only while its gate is open: bot/core/desk.py). The work runs on
a thread of its own, fed by the engine's changes, so a slow Slack never holds a release."""
from __future__ import annotations

import logging
import queue
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters import telemetry
from bot.adapters.edgestate import EdgeState
from bot.adapters.store import Store
from bot.core.board import to_page
from bot.core.engine import Engine
from bot.core.policy import Policy
from bot.domain.model import Phase, Release
from bot.domain.names import OBSERVED
from bot.language.text import when

from .blocks import PHASE_ICON, _buttons, _clip, gate_text
from .mention import who

log = logging.getLogger("graybot.paging")
DONE_WORDS = {"approve": "approved", "approve_full": "approved to 100%", "rollback": "rolled back",
              "pause": "paused", "finished": "finished", "vote": "voted on"}


def gate_of(release: Release) -> str | None:
    return f"w{release.wave}s{release.stage}" if release.phase == Phase.WAITING else None


class Pager:
    def __init__(self, client: WebClient, engine: Engine, policy: Policy, state: EdgeState, button_key: bytes):
        self.client, self.engine, self.policy, self.state = client, engine, policy, state
        self.store: Store = engine.store
        self.button_key = button_key
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def on_change(self, release: Release, what: str, detail: str) -> None:
        if what != OBSERVED:
            self._queue.put(release.id)

    def start(self) -> "Pager":
        self._thread = threading.Thread(target=self._loop, name="pager", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while (release_id := self._queue.get()) is not None:
            try:
                self.follow(release_id)
            except Exception:         # Redis or Slack down: the next change of the release tries again
                log.exception("paging for %s failed", release_id)

    def follow(self, release_id: str) -> None:
        """Bring the release's direct messages in step with its saved state."""
        release = self.store.get(release_id)
        if release is None:
            return
        gate, record = gate_of(release), self.state.pages(release_id)
        if record and record.get("open") and record.get("gate") != gate:
            self._close(release, record)
        if gate and (record is None or record.get("gate") != gate) and self.state.claim_pages(release_id, gate):
            self._page(release, gate)

    def _page(self, release: Release, gate: str) -> None:
        record: dict = {"gate": gate, "open": True, "sent": {}}
        self.state.set_pages(release.id, record)
        for user in to_page(self.engine, self.policy, release):
            try:
                answer = self.client.chat_postMessage(channel=user, text=self._asking(release),
                                                      blocks=self._blocks(release))
            except SlackApiError as err:
                telemetry.CHAT_ERRORS.labels(call="page").inc()
                log.warning("paging %s for %s failed: %s", user, release.id, err.response.get("error"))
                continue
            record["sent"][user] = [answer["channel"], answer["ts"]]
            self.state.set_pages(release.id, record)        # a click on it is accepted from now on
        rules = self.engine.registry[release.app].at(release.cluster).rules
        if record["sent"]:
            self.state.remind_at(f"{release.id}|{gate}|remind", time.time() + rules.remind_after)
        if rules.approval_timeout:       # the requester hears before the timeout acts
            notice = rules.approval_timeout - min(rules.approval_timeout / 5, 600)
            self.state.remind_at(f"{release.id}|{gate}|timeout", release.updated_at + notice)

    def remind_due(self) -> int:
        """The leader's duty: one reminder to each person paged for a gate still waiting after
        `remind_after`; the requester told when `approval_timeout` is near."""
        told = 0
        for member in self.state.due_reminders(time.time()):
            release_id, gate, kind = member.split("|")
            release, record = self.store.get(release_id), self.state.pages(release_id)
            if release is None or gate_of(release) != gate or not record or not record.get("open"):
                continue
            if kind == "remind":
                text = f":bell: Reminder: {self._asking(release)} (the buttons are in the message above)"
                muted = self.store.muted()          # who muted graybot since is not reminded
                targets = [channel for user, (channel, _ts) in record["sent"].items() if user not in muted]
            else:
                rules = self.engine.registry[release.app].at(release.cluster).rules
                ends = release.updated_at + (rules.approval_timeout or 0)
                text = (f":hourglass: *{release.app}* {release.from_version} → {release.to_version} still waits for "
                        f"approval at {release.current.name}; at {when(ends)} graybot will "
                        f"{rules.on_approval_timeout} it (approval_timeout)")
                targets = [release.requested_by]
            for channel in targets:
                told += self._say(channel, text)
        return told

    def _say(self, channel: str, text: str) -> int:
        try:
            self.client.chat_postMessage(channel=channel, text=text)
            return 1
        except SlackApiError as err:
            telemetry.CHAT_ERRORS.labels(call="page_reminder").inc()
            log.warning("a reminder to %s failed: %s", channel, err.response.get("error"))
            return 0

    def _close(self, release: Release, record: dict) -> None:
        record["open"] = False
        self.state.set_pages(release.id, record)             # its buttons stop counting first
        words = DONE_WORDS.get(release.last_action, release.last_action.replace("_", " "))
        text = (f"{PHASE_ICON[release.phase]} *{release.app}* {release.from_version} → {release.to_version}: "
                f"{words} by {who(release.last_actor)}; now {release.phase.value} at {release.current.name}")
        for channel, ts in record["sent"].values():
            try:
                self.client.chat_update(channel=channel, ts=ts, text=_clip(text, 2900),
                                        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, 2900)}}])
            except SlackApiError as err:
                telemetry.CHAT_ERRORS.labels(call="page_update").inc()
                log.warning("updating a page of %s failed: %s", release.id, err.response.get("error"))

    @staticmethod
    def _asking(release: Release) -> str:
        ahead = release.next_stage.name if release.next_stage is not None else "the next wave"
        return (f":raised_hand: *{release.app}* {release.from_version} → {release.to_version} waits for your "
                f"approval to move to *{ahead}* (now stage {release.stage + 1}/{len(release.stages)}, "
                f"{release.current.name}), requested by {who(release.requested_by)} in <#{release.conversation}>")

    def _blocks(self, release: Release) -> list[dict]:
        buttons = [b for b in _buttons(release, self.button_key) if b.action_id in ("approve", "rollback")]
        return [{"type": "section", "text": {"type": "mrkdwn", "text": _clip(self._asking(release), 2900)}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(gate_text(release), 2900)}]},
                {"type": "actions", "block_id": f"page:{release.id}", "elements": [b.to_dict() for b in buttons]}]
