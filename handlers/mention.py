"""A Slack user as the message shows them: a mention for a user ID, the name otherwise (graybot,
scheduler, an identity from the CLI), as plain text."""
from __future__ import annotations

import re

from .mrkdwn import plain

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def who(actor: str) -> str:
    return f"<@{actor}>" if USER_ID.match(actor) else plain(actor)
