"""When a timed release advances next (pure): `--every`, `--at HH:MM`, `--window`, `--tz`,
with correct behaviour across midnight and daylight-saving changes (zoneinfo)."""
from __future__ import annotations

from datetime import datetime, time as dtime, timedelta, timezone
from zoneinfo import ZoneInfo

from . import traits
from .durations import clock_of
from .model import Release


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    return ZoneInfo(name or default)


def at_local(day: datetime, hh: int, mm: int, tz: ZoneInfo) -> datetime:
    """HH:MM on that local day; a time skipped by a DST jump moves forward past the gap."""
    naive = datetime.combine(day.date(), dtime(hh, mm))
    aware = naive.replace(tzinfo=tz, fold=0)
    roundtrip = aware.astimezone(timezone.utc).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != naive:          # nonexistent local time (spring forward)
        return roundtrip
    return aware


def next_clock(clock: str, after: float, tz: ZoneInfo) -> float:
    """The first HH:MM in `tz` strictly after the instant `after`."""
    hh, mm = clock_of(clock)
    local = datetime.fromtimestamp(after, tz)
    for days in range(0, 3):
        candidate = at_local(local + timedelta(days=days), hh, mm, tz)
        if candidate.timestamp() > after:
            return candidate.timestamp()
    raise AssertionError("unreachable")


def in_window(window: str, at: float, tz: ZoneInfo) -> bool:
    start, end = (clock_of(p) for p in window.split("-"))
    local = datetime.fromtimestamp(at, tz)
    minute = local.hour * 60 + local.minute
    lo, hi = start[0] * 60 + start[1], end[0] * 60 + end[1]
    return lo <= minute < hi if lo < hi else (minute >= lo or minute < hi)   # across midnight


def into_window(window: str | None, at: float, tz: ZoneInfo) -> float:
    """`at` if inside the window, else the window's next opening."""
    if not window or in_window(window, at, tz):
        return at
    return next_clock(window.split("-")[0], at, tz)


def describe(at: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:%M %Z")


def interval_of(release: Release) -> int | None:
    return release.command.every or release.command.auto


def due_after_stage(release: Release, now: float, default_tz: str = "UTC") -> float | None:
    """When a timer advances past the (just healthy) current stage, or None: a human clicks.

    Batch: after the gray batch a human always approves; `--at` sets the first batch's time
    (scheduled when the gray batch is approved); then `--every`, else the next `--at`.
    Canary: `--auto DURATION` after each stage. `--window` holds anything due outside it."""
    opts, tz = release.command, zone(release.command.tz, default_tz)
    if release.next_stage is None or opts.manual:
        return None
    if traits.of(release.strategy).gray_gate and release.stage == 0:
        return None
    every = interval_of(release)
    if every:
        due = now + every
    elif opts.at and traits.of(release.strategy).clock_timers:
        due = next_clock(opts.at, now, tz)
    else:
        return None
    return into_window(opts.window, due, tz)


def due_after_gray_approval(release: Release, now: float, default_tz: str = "UTC") -> float | None:
    """`--at`: once the gray batch is approved, the first batch waits for the next HH:MM."""
    opts = release.command
    if not traits.of(release.strategy).clock_timers or release.stage != 0 or not opts.at:
        return None
    tz = zone(opts.tz, default_tz)
    return into_window(opts.window, next_clock(opts.at, now, tz), tz)


def due_after_wave(release: Release, now: float, default_tz: str = "UTC") -> float | None:
    """`--wave-every DURATION`: when the next wave starts by itself (held by `--window`); None:
    a person approves the move."""
    every = release.command.wave_every
    if not every or release.next_wave is None:
        return None
    return into_window(release.command.window, now + every, zone(release.command.tz, default_tz))
