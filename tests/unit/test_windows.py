"""Deny and allow windows: weekly spans that wrap, whole-day date ranges, back-to-back chaining."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.windows import WindowError, denied_until, parse

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def local(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, BERLIN).strftime("%Y-%m-%d %H:%M")


WEEKEND = parse("Fri 16:00-Mon 08:00")
HOLIDAYS = parse("2026-12-24..2026-12-27")


@pytest.mark.parametrize("now, until", [
    ("2026-12-04 15:59", None),                       # Friday, before the freeze
    ("2026-12-04 16:00", "2026-12-07 08:00"),         # it wraps over the weekend
    ("2026-12-06 23:00", "2026-12-07 08:00"),
    ("2026-12-07 08:00", None),                       # the end is not inside
    ("2026-12-24 00:00", "2026-12-28 08:00"),         # holidays run into the weekend window
])
def test_deny_windows_chain_and_end_where_the_last_one_ends(now, until):
    found = denied_until((WEEKEND, HOLIDAYS), (), at(now), BERLIN)
    assert (local(found[0]) if found else None) == until


def test_an_allow_window_opens_at_its_next_start_and_deny_wins_inside_it():
    office = (parse("Mon 09:00-Fri 17:00"),)
    until, why = denied_until((), office, at("2026-12-05 10:00"), BERLIN)      # a Saturday
    assert local(until) == "2026-12-07 09:00" and "allow" in why
    assert denied_until((), office, at("2026-12-08 10:00"), BERLIN) is None
    until, why = denied_until((parse("2026-12-08..2026-12-08"),), office, at("2026-12-08 10:00"), BERLIN)
    assert local(until) == "2026-12-09 00:00" and "deny window" in why


def test_dates_may_carry_times_and_zones_move_with_dst():
    window = parse("2026-03-28 18:00..2026-03-29 09:00")           # Berlin moves to CEST on the 29th
    until, _ = denied_until((window,), (), at("2026-03-28 20:00"), BERLIN)
    assert local(until) == "2026-03-29 09:00"


@pytest.mark.parametrize("text", ["Fry 16:00-Mon 08:00", "Fri 25:00-Mon 08:00", "Fri 16:00-Fri 16:00",
                                  "2026-12-27..2026-12-24", "2026-02-30..2026-03-01", "weekends"])
def test_bad_windows_say_what_is_wrong(text):
    with pytest.raises(WindowError):
        parse(text)
