"""When timed releases advance (bot.domain.timing): across midnight, across daylight-saving
changes (a skipped hour moves forward, a repeated hour takes its first occurrence), windows and
the batch rules."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain import timing
from bot.domain.model import Phase, Stage
from tests.kit.releases import release

BERLIN, UTC = ZoneInfo("Europe/Berlin"), ZoneInfo("UTC")


def at(text: str, tz: ZoneInfo = UTC) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


def utc(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M")


def test_next_clock_rolls_over_midnight():
    assert utc(timing.next_clock("02:00", at("2026-12-01 23:30"), UTC)) == "2026-12-02 02:00"
    assert utc(timing.next_clock("23:45", at("2026-12-01 23:30"), UTC)) == "2026-12-01 23:45"
    assert utc(timing.next_clock("23:30", at("2026-12-01 23:30"), UTC)) == "2026-12-02 23:30"  # strictly after


def test_a_time_skipped_by_spring_forward_moves_past_the_gap():
    # 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist
    due = timing.next_clock("02:30", at("2026-03-29 00:00", BERLIN), BERLIN)
    assert datetime.fromtimestamp(due, BERLIN).strftime("%H:%M %Z") == "03:30 CEST"
    assert utc(due) == "2026-03-29 01:30"


def test_a_time_repeated_by_fall_back_takes_its_first_occurrence():
    # 2026-10-25 in Berlin: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice
    due = timing.next_clock("02:30", at("2026-10-25 00:00", BERLIN), BERLIN)
    assert utc(due) == "2026-10-25 00:30"                     # 02:30 CEST, not 02:30 CET
    day_after = timing.next_clock("02:30", due, BERLIN)
    assert utc(day_after) == "2026-10-26 01:30"               # 02:30 CET the next day: 25 h later


@pytest.mark.parametrize("clock,inside", [("22:00", True), ("23:59", True), ("00:00", True),
                                          ("05:59", True), ("06:00", False), ("21:59", False),
                                          ("12:00", False)])
def test_a_window_across_midnight(clock, inside):
    assert timing.in_window("22:00-06:00", at(f"2026-12-01 {clock}"), UTC) is inside


def test_into_window_waits_for_the_next_opening_in_the_window_zone():
    assert timing.into_window("22:00-06:00", at("2026-12-01 23:00"), UTC) == at("2026-12-01 23:00")
    assert utc(timing.into_window("22:00-06:00", at("2026-12-01 07:00"), UTC)) == "2026-12-01 22:00"
    # 01:00-05:00 in Berlin, asked at 12:00 UTC in winter: opens at 00:00 UTC the next day
    assert utc(timing.into_window("01:00-05:00", at("2026-12-01 12:00"), BERLIN)) == "2026-12-02 00:00"


def batch(stage: int, **options):
    stages = tuple(Stage(n, 0, 0, 0) for n in ("gray", "batch 1/2", "batch 2/2"))
    return release(Phase.WAITING, stage, stages=stages, options=options).replace(strategy="batch")


def test_after_the_gray_batch_a_human_always_approves():
    assert timing.due_after_stage(batch(0, every=60), at("2026-12-01 10:00")) is None


def test_batches_every_interval_then_none_after_the_last():
    now = at("2026-12-01 10:00")
    assert timing.due_after_stage(batch(1, every=600), now) == now + 600
    assert timing.due_after_stage(batch(2, every=600), now) is None
    assert timing.due_after_stage(batch(1, every=600, manual=True), now) is None


def test_a_batch_due_outside_its_window_is_held_until_it_opens():
    due = timing.due_after_stage(batch(1, every=600, window="01:00-03:00", tz="UTC"), at("2026-12-01 10:00"))
    assert utc(due) == "2026-12-02 01:00"


def test_at_times_the_first_batch_once_the_gray_is_approved():
    due = timing.due_after_gray_approval(batch(0, at="02:00", tz="Europe/Berlin"), at("2026-12-01 10:00"))
    assert utc(due) == "2026-12-02 01:00"                    # 02:00 CET
    assert timing.due_after_gray_approval(batch(1, at="02:00"), at("2026-12-01 10:00")) is None


def test_canary_auto_advances_after_each_stage():
    now = at("2026-12-01 10:00")
    assert timing.due_after_stage(release(Phase.WAITING, 0, options={"auto": 300}), now) == now + 300
    assert timing.due_after_stage(release(Phase.WAITING, 0), now) is None
