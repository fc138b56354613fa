"""A Slack user as the message shows them: a mention for a user ID, the name otherwise (graybot,
scheduler, an OS user from the CLI)."""
from __future__ import annotations


def who(actor: str) -> str:
    return f"<@{actor}>" if actor[:1] in "UW" and actor[1:].isalnum() else actor
