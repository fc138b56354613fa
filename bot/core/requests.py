"""A person's request, from any chat platform or the CLI, as core sees it; and what core says
back: neutral text with a tone, which each edge renders its own way (an emoji on Slack, a prefix
in a terminal). The inbox keeps requests as JSON in the shape `to_entry` writes (the keys the
Slack edge wrote before this type existed, so entries acked by an older graybot still load)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Tone(str, Enum):
    INFO = "info"
    REFUSED = "refused"          # nothing changed: the text says why
    WARNING = "warning"
    FAILED = "failed"            # graybot could not finish; the release's message shows its state
    RESUMED = "resumed"          # carried out after a restart
    STOPPED = "stopped"          # stop-all
    FROZEN = "frozen"
    UNFROZEN = "unfrozen"
    WAITING = "waiting"          # acknowledged; being carried out
    CODE = "code"                # a block of fixed-width text (status, plan, help)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Said:
    text: str
    tone: Tone = Tone.INFO


@dataclass(frozen=True)
class Request:
    kind: str                        # command | action
    what: str                        # how the person would name it: "/release approve user"
    user: str                        # the identity as the platform gives it
    conversation: str                # where it was asked (a channel); "" for the CLI
    platform: str = "slack"
    text: str = ""                   # command: the words after /release
    app: str | None = None
    expected: int | None = None      # command: the state version seen at the ack (approve, continue)
    action: str = ""                 # action: approve | pause | resume | rollback | continue
    value: str = ""                  # action: the button's signed value
    message: str = ""                # action: the platform's reference of the message clicked
    owner: str = ""                  # the process carrying it out

    def to_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"kind": self.kind, "what": self.what, "user": self.user,
                                 "channel": self.conversation, "platform": self.platform, "owner": self.owner}
        if self.kind == "command":
            entry.update(text=self.text, app=self.app)
            if self.expected is not None:
                entry["expected"] = self.expected
        else:
            entry.update(action_id=self.action, value=self.value, message_ts=self.message)
        return entry

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> "Request":
        return cls(kind=entry.get("kind", ""), what=entry.get("what", "a request"), user=entry.get("user", ""),
                   conversation=entry.get("channel", ""), platform=entry.get("platform", "slack"),
                   text=entry.get("text", ""), app=entry.get("app"), expected=entry.get("expected"),
                   action=entry.get("action_id", ""), value=entry.get("value", ""),
                   message=entry.get("message_ts", ""), owner=entry.get("owner", ""))

    def owned_by(self, identity: str) -> "Request":
        return Request(**{**vars(self), "owner": identity})
