"""The release-policy commands: `freeze`, `unfreeze` and `stop-all` (pure, like grammar.py).

    /release freeze [APP|all] until 2026-12-27 09:00 "holiday"   (or: for 2h "reason")
    /release unfreeze [APP|all]
    /release stop-all ["reason"]

A reason is free text in double quotes (Slack's curly quotes too); the rest is ordinary tokens.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from bot.domain.durations import parse_clock, parse_duration

from .errors import UsageError

POLICY_USAGE = {
    "freeze": '/release freeze [APP|all] until YYYY-MM-DD [HH:MM] "reason"   (or: for DURATION "reason")',
    "unfreeze": "/release unfreeze [APP|all]",
    "stop-all": '/release stop-all ["reason"]   (pause every active release at once)',
}
ALL = "all"
_REASON = re.compile(r"[\"\u201c\u201d]([^\"\u201c\u201d]{0,200})[\"\u201c\u201d]")
_WORD = re.compile(r"^[A-Za-z0-9._:-]+$")


@dataclass(frozen=True)
class PolicyCommand:
    verb: str                     # freeze | unfreeze | stop-all
    app: str | None = None        # None: every app (`all`)
    until: str = ""               # freeze: "2026-12-27 09:00" (local to GRAYBOT_TIMEZONE) ...
    seconds: int | None = None    # ... or a duration from now
    reason: str = ""


def is_policy(text: str) -> bool:
    words = text.split()
    return bool(words) and words[0].lower() in POLICY_USAGE


def _scope(word: str | None, apps: list[str], usage: str) -> str | None:
    if word is None or word.lower() == ALL:
        return None
    if word not in apps:
        raise UsageError(f"unknown app {word[:40]!r}; known apps: {', '.join(sorted(apps))} (or all)", usage)
    return word


def _until(words: list[str], usage: str) -> tuple[str, int | None]:
    if words[:1] == ["for"] and len(words) == 2:
        seconds = parse_duration(words[1])
        if seconds is None or seconds <= 0:
            raise UsageError(f"{words[1][:20]!r} is not a duration like 2h or 3d", usage)
        return "", seconds
    if words[:1] != ["until"] or len(words) not in (2, 3):
        raise UsageError("say until when: until 2026-12-27 09:00, or for 2h", usage)
    try:
        date.fromisoformat(words[1])
    except ValueError:
        raise UsageError(f"{words[1][:20]!r} is not a date like 2026-12-27", usage) from None
    if len(words) == 3 and parse_clock(words[2]) is None:
        raise UsageError(f"{words[2][:20]!r} is not a time like 09:00", usage)
    return " ".join(words[1:]), None


def parse_policy(text: str, apps: Iterable[str]) -> PolicyCommand:
    apps = list(apps)
    reasons = _REASON.findall(text)
    rest = _REASON.sub(" ", text).split()
    verb = rest[0].lower()
    usage = POLICY_USAGE[verb]
    if len(reasons) > 1:
        raise UsageError("give one reason, in double quotes", usage)
    bad = next((w for w in rest if not _WORD.match(w)), None)
    if bad is not None:
        raise UsageError(f"unexpected characters in {bad[:40]!r} (put the reason in double quotes)", usage)
    reason = reasons[0].strip() if reasons else ""
    args = rest[1:]
    if verb == "stop-all":
        if args:
            raise UsageError(f"unexpected {args[0][:40]!r}", usage)
        return PolicyCommand("stop-all", reason=reason)
    scope = args[0] if args and args[0] not in ("until", "for") else None
    tail = args[1:] if scope is not None else args
    app = _scope(scope, apps, usage)
    if verb == "unfreeze":
        if tail or reason:
            raise UsageError(f"unexpected {(tail or [reason])[0][:40]!r}", usage)
        return PolicyCommand("unfreeze", app)
    until, seconds = _until(tail, usage)
    return PolicyCommand("freeze", app, until=until, seconds=seconds, reason=reason)
