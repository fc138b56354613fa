"""Value parsers of the command grammar: percentages, steps, durations, counts, clock times,
windows and time zones. Each raises UsageError naming the problem and the right form."""
from __future__ import annotations

import re
import zoneinfo

from bot.domain.durations import parse_clock, parse_duration
from .errors import UsageError

_INT_OR_PCT = re.compile(r"^(\d{1,3})%?$")


def percent(text: str, usage: str) -> int:
    m = _INT_OR_PCT.match(text)
    if not m or not 1 <= int(m.group(1)) <= 100:
        raise UsageError(f"{text!r} is not a percentage from 1% to 100%", usage)
    return int(m.group(1))


def steps(text: str, usage: str) -> tuple[int, ...]:
    steps = tuple(percent(part, usage) for part in text.split(","))
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise UsageError(f"--steps {text} must rise strictly, e.g. 10,30,50,100", usage)
    return steps if steps[-1] == 100 else steps + (100,)


def duration(option: str, text: str, usage: str) -> int:
    seconds = parse_duration(text)
    if seconds is None:
        raise UsageError(f"{option} {text!r} is not a duration like 30s, 10m or 2h", usage)
    return seconds


def surge(option: str, text: str, usage: str) -> str:
    m = _INT_OR_PCT.match(text)
    if not m or (text.endswith("%") and int(m.group(1)) > 100):
        raise UsageError(f"{option} {text!r} must be a number or a percentage like 25%", usage)
    return text


def count(option: str, text: str, usage: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{option} {text!r} must be a whole number from {low} to {high}", usage)
    return int(text)


def clock(option: str, text: str, usage: str) -> str:
    if parse_clock(text) is None:
        raise UsageError(f"{option} {text!r} is not a time like 02:00 (24-hour HH:MM)", usage)
    return text


def window(text: str, usage: str) -> str:
    start, sep, end = text.partition("-")
    if not sep or parse_clock(start) is None or parse_clock(end) is None or start == end:
        raise UsageError(f"--window {text!r} must look like 00:00-06:00", usage)
    return text


def zone(text: str, usage: str) -> str:
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--tz {text!r} is not a time zone like Asia/Shanghai or UTC", usage) from None
    return text


def regex(text: str, usage: str) -> str:
    """A header value pattern (`header:NAME~REGEX`): it must compile; gateways use RE2, so
    back-references and look-arounds are refused too."""
    if re.search(r"\\[1-9]|\(\?[=!<]", text):
        raise UsageError(f"{text[:40]!r}: back-references and look-arounds are not RE2", usage)
    try:
        re.compile(text)
    except re.error as err:
        raise UsageError(f"{text[:40]!r} is not a regular expression: {err}", usage) from None
    return text
