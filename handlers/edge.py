"""What the Slack listeners share: Slack's Web API client, the apps, and the inbox (runtime: the
durable accept -> carry out -> reply lifecycle). This module keeps only Slack's part: how a
neutral answer becomes Slack text, and how it reaches the person (an ephemeral message)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters import telemetry
from bot.adapters.edgestate import EdgeState
from bot.core.desk import expected_version
from bot.core.requests import Request, Said, Tone
from bot.domain.apps import Registry
from bot.language.grammar import Command
from bot.runtime.inbox import Inbox

from .form_views import FORM_MARK, form_answer
from .mrkdwn import plain

log = logging.getLogger("graybot.edge")
MARK = {Tone.REFUSED: ":no_entry:", Tone.WARNING: ":warning:", Tone.FAILED: ":x:", Tone.RESUMED: ":recycle:",
        Tone.STOPPED: ":octagonal_sign:", Tone.FROZEN: ":snowflake:", Tone.UNFROZEN: ":sunny:",
        Tone.WAITING: ":hourglass_flowing_sand:"}


def slack_text(said: Said) -> str:
    """A neutral answer as Slack mrkdwn: the tone's emoji, or a code block."""
    if said.tone == Tone.CODE:          # status, plan, list: reasons inside stay text, the block stays closed
        return f"```{plain(said.text, one_line=False)}```"
    mark = MARK.get(said.tone)
    return f"{mark} {said.text}" if mark else said.text


@dataclass
class SlackReplier:
    """Tells one person something about their request: an ephemeral message in the channel."""
    client: WebClient

    def tell(self, request: Request, said: Said) -> None:
        if request.message.startswith(FORM_MARK):      # the start form's plan: it replaces the modal
            try:
                self.client.views_update(view_id=request.message.removeprefix(FORM_MARK), view=form_answer(said, request))
            except SlackApiError as err:
                telemetry.CHAT_ERRORS.labels(call="views.update").inc()
                log.warning("the start form of %s could not be updated: %s", request.user, err.response.get("error"))
            return
        if not request.conversation:          # a click on the Home tab: no channel; the app's DM
            self.direct(request.user, slack_text(said))
            return
        self.ephemeral(request.conversation, request.user, slack_text(said))

    def direct(self, user: str, text: str) -> None:
        try:
            self.client.chat_postMessage(channel=user, text=text)
        except SlackApiError as err:
            telemetry.CHAT_ERRORS.labels(call="direct").inc()
            log.warning("direct message to %s failed: %s", user, err.response.get("error"))

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackApiError as err:
            telemetry.CHAT_ERRORS.labels(call="ephemeral").inc()
            log.warning("ephemeral to %s failed: %s", user, err.response.get("error"))


@dataclass
class Edge:
    """Only what the ack needs: the apps (to parse), the edge's Redis state (the version seen)
    and the inbox. The desk runs behind the inbox, in this process or in the worker process."""
    client: WebClient
    registry: Registry
    state: EdgeState
    inbox: Inbox

    def expected_version(self, cmd: Command) -> int | None:
        return expected_version(self.state, cmd)

    def answer_later(self, channel: str, user: str, text: str) -> None:
        """After the ack, privately (the inbox's workers send it)."""
        self.inbox.workers.submit(self.ephemeral, channel, user, text)

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        SlackReplier(self.client).ephemeral(channel, user, text)
