"""Calendar windows for release policy (apps.yaml `deny:` / `allow:`), zone-aware and pure.

Two forms: a weekly span `"Fri 16:00-Mon 08:00"` (it may wrap over the weekend) and a date range
`"2026-12-24..2026-12-27"` (whole days, both included; a time may follow each date:
`"2026-12-24 18:00..2026-12-27 09:00"`). Deny wins over allow; with allow windows set, releases
may start only inside one of them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = 7 * 24 * 60
_WEEKLY = re.compile(r"^(\w{3})\s+(\d{1,2}):(\d{2})\s*-\s*(\w{3})\s+(\d{1,2}):(\d{2})$", re.I)
_DATES = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s+(\d{1,2}):(\d{2}))?\s*\.\.\s*(\d{4}-\d{2}-\d{2})(?:\s+(\d{1,2}):(\d{2}))?$")


class WindowError(ValueError):
    pass


@dataclass(frozen=True)
class Window:
    text: str
    weekly: tuple[int, int] | None = None           # (start, end) minutes since Monday 00:00
    dates: tuple[datetime, datetime] | None = None   # naive local start (inclusive), end (exclusive)

    def end_if_inside(self, at: float, tz: ZoneInfo) -> float | None:
        """When this window ends, if `at` is inside it; else None."""
        local = datetime.fromtimestamp(at, tz)
        if self.dates is not None:
            opens, closes = (d.replace(tzinfo=tz) for d in self.dates)
            return closes.timestamp() if opens <= local < closes else None
        assert self.weekly is not None
        start, end = self.weekly
        minute = local.weekday() * 24 * 60 + local.hour * 60 + local.minute
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        if not inside:
            return None
        ahead = (end - minute) % WEEK or WEEK
        wall = local.replace(second=0, microsecond=0, tzinfo=None) + timedelta(minutes=ahead)
        return wall.replace(tzinfo=tz).timestamp()     # wall-clock arithmetic: DST-safe


def _clock(hh: str | None, mm: str | None, text: str) -> tuple[int, int]:
    h, m = int(hh or 0), int(mm or 0)
    if h > 23 or m > 59:
        raise WindowError(f"{text!r}: {h:02d}:{m:02d} is not a time of day")
    return h, m


def parse(text: str) -> Window:
    raw = str(text).strip()
    if m := _WEEKLY.match(raw):
        d1, d2 = m.group(1).lower(), m.group(4).lower()
        if d1 not in DAYS or d2 not in DAYS:
            raise WindowError(f"{raw!r}: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun")
        h1, m1 = _clock(m.group(2), m.group(3), raw)
        h2, m2 = _clock(m.group(5), m.group(6), raw)
        start, end = DAYS.index(d1) * 1440 + h1 * 60 + m1, DAYS.index(d2) * 1440 + h2 * 60 + m2
        if start == end:
            raise WindowError(f"{raw!r}: the window starts where it ends")
        return Window(raw, weekly=(start, end))
    if m := _DATES.match(raw):
        try:
            first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(4))
        except ValueError as err:
            raise WindowError(f"{raw!r}: {err}") from None
        h1, m1 = _clock(m.group(2), m.group(3), raw)
        opens = datetime(first.year, first.month, first.day, h1, m1)
        if m.group(5) is None:       # a bare end date is included whole
            closes = datetime(last.year, last.month, last.day) + timedelta(days=1)
        else:
            h2, m2 = _clock(m.group(5), m.group(6), raw)
            closes = datetime(last.year, last.month, last.day, h2, m2)
        if closes <= opens:
            raise WindowError(f"{raw!r}: ends before it starts")
        return Window(raw, dates=(opens, closes))
    raise WindowError(f"{raw!r} is not a window like \"Fri 16:00-Mon 08:00\" or \"2026-12-24..2026-12-27\"")


def denied_until(deny: tuple[Window, ...], allow: tuple[Window, ...], at: float, tz: ZoneInfo,
                 horizon_days: int = 60) -> tuple[float, str] | None:
    """(when releasing is allowed again, why) if `at` is inside a deny window or outside every
    allow window; None when releasing is allowed now. Back-to-back windows are followed through."""
    moment, why = at, ""
    for _ in range(64):
        inside = [(w.end_if_inside(moment, tz), w.text) for w in deny]
        ends = [(e, t) for e, t in inside if e is not None]
        if ends:
            moment, why = max(ends)[0], why or f"deny window {max(ends)[1]}"
            continue
        if allow and not any(w.end_if_inside(moment, tz) is not None for w in allow):
            opening = _next_opening(allow, moment, tz, horizon_days)
            if opening is None:
                return (moment + horizon_days * 86400, why or "outside every allow window")
            moment, why = opening, why or "outside every allow window"
            continue
        break
    return (moment, why) if moment > at else None


def _next_opening(allow: tuple[Window, ...], at: float, tz: ZoneInfo, horizon_days: int) -> float | None:
    """The first minute after `at` inside an allow window (minute steps over the horizon are
    too many; walk window starts instead)."""
    candidates = []
    for w in allow:
        if w.dates is not None:
            start = w.dates[0].replace(tzinfo=tz).timestamp()
            if start > at:
                candidates.append(start)
            continue
        local = datetime.fromtimestamp(at, tz)
        minute = local.weekday() * 1440 + local.hour * 60 + local.minute
        assert w.weekly is not None
        ahead = (w.weekly[0] - minute) % WEEK or WEEK
        base = local.replace(second=0, microsecond=0, tzinfo=None)
        candidates.append((base + timedelta(minutes=ahead)).replace(tzinfo=tz).timestamp())
    future = [c for c in candidates if c - at <= horizon_days * 86400]
    return min(future) if future else None
