"""Durations (`30s`, `10m`, `2h`, `1h30m`, `400d`) and clock times (`02:00`), shared by grammar and config."""
from __future__ import annotations

import re

_DURATION = re.compile(r"^(?:(\d{1,4})d)?(?:(\d{1,4})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_duration(text: str) -> int | None:
    """Seconds, or None when the text is not a positive duration."""
    m = _DURATION.match(text.strip().lower())
    if not m or not any(m.groups()):
        return None
    d, h, mi, s = (int(g or 0) for g in m.groups())
    total = d * 86400 + h * 3600 + mi * 60 + s
    return total or None


def format_duration(seconds: int) -> str:
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def parse_clock(text: str) -> tuple[int, int] | None:
    m = _CLOCK.match(text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def clock_of(text: str) -> tuple[int, int]:
    """(hours, minutes) of an HH:MM the grammar has already checked; ValueError otherwise."""
    if (clock := parse_clock(text)) is None:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return clock
