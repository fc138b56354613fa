"""The canary-vs-stable verdicts, pure: ratios against a zero stable, deltas, the rank test."""
from __future__ import annotations

from bot.domain.apps import Metric
from bot.gates import FAIL, INCONCLUSIVE, PASS
from bot.gates.compare import by_test, by_values

RATIO = Metric("errors", "q", compare="stable", max_ratio=1.5)
DELTA = Metric("errors", "q", compare="stable", max_delta=0.01)
RANKED = Metric("latency", "q", compare="stable", test="mann-whitney", min_samples=5)


def test_a_ratio_against_a_zero_stable_fails_any_error_and_passes_none():
    assert by_values(RATIO, 0.04, 0.0).result == FAIL and "infx" not in by_values(RATIO, 0.04, 0.0).evidence
    assert by_values(RATIO, 0.0, 0.0).result == PASS
    assert by_values(RATIO, 0.012, 0.01).result == PASS and by_values(RATIO, 0.02, 0.01).result == FAIL


def test_a_delta_is_above_stable_not_absolute():
    assert by_values(DELTA, 0.05, 0.045).result == PASS
    verdict = by_values(DELTA, 0.05, 0.03)
    assert verdict.result == FAIL and "+0.02" in verdict.evidence and "canary 0.05 vs stable 0.03" in verdict.evidence


def test_the_rank_test_needs_samples_and_finds_a_shift():
    assert by_test(RANKED, [1.0] * 4, [1.0] * 9).result == INCONCLUSIVE
    slower = by_test(RANKED, [120, 125, 130, 128, 131, 127], [100, 102, 99, 101, 103, 98])
    assert slower.result == FAIL and "Mann-Whitney p=" in slower.evidence
    same = by_test(RANKED, [100, 103, 99, 101, 102, 98], [101, 100, 102, 99, 103, 98])
    assert same.result == PASS
