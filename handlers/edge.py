"""What the Slack listeners share: Slack's Web API client, the request desk (core's policy and
engine), and the inbox (runtime: the durable accept -> carry out -> reply lifecycle). This module
keeps only Slack's part: how a neutral answer becomes Slack text, and how it reaches the person
(an ephemeral message)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.desk import Desk
from bot.core.requests import Request, Said, Tone
from bot.domain.apps import Registry
from bot.runtime.inbox import Inbox

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
        self.ephemeral(request.conversation, request.user, slack_text(said))

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackApiError as err:
            log.warning("ephemeral to %s failed: %s", user, err.response.get("error"))


@dataclass
class Edge:
    client: WebClient
    desk: Desk
    inbox: Inbox

    @property
    def registry(self) -> Registry:
        return self.desk.registry

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        SlackReplier(self.client).ephemeral(channel, user, text)
