"""Replica arithmetic as tables: the canary split (Argo Rollouts' rule, with one surge pod
allowed) and batch sizes (gray first, then smaller batches first)."""
from __future__ import annotations

import pytest

from strategies.batch import batch_sizes
from strategies.replica_math import canary_split

SPLITS = [  # total, weight -> (canary, stable) with surge, without surge
    (10, 10, (1, 9), (1, 9)),
    (10, 30, (3, 7), (3, 7)),
    (10, 41, (4, 6), (4, 6)),
    (10, 50, (5, 5), (5, 5)),
    (10, 100, (10, 0), (10, 0)),
    (3, 10, (1, 3), (1, 2)),       # 1 of 4 (25%) is nearer 10% than 1 of 3
    (3, 30, (1, 2), (1, 2)),
    (3, 50, (2, 2), (2, 1)),
    (5, 33, (2, 4), (2, 3)),       # 2 of 6 is exactly a third
    (7, 99, (7, 1), (6, 1)),       # below 100% a stable pod always stays
    (1, 10, (1, 1), (1, 0)),       # one pod: only the surge pod keeps the stable serving
    (0, 50, (0, 0), (0, 0)),
]


@pytest.mark.parametrize("total,weight,with_surge,without_surge", SPLITS)
def test_canary_split(total, weight, with_surge, without_surge):
    assert canary_split(total, weight) == with_surge
    assert canary_split(total, weight, surge=False) == without_surge


@pytest.mark.parametrize("total", range(2, 31))
@pytest.mark.parametrize("weight", [1, 5, 10, 25, 30, 50, 75, 99])
def test_a_canary_below_100_keeps_both_versions_and_at_most_one_extra_pod(total, weight):
    canary, stable = canary_split(total, weight)
    assert canary >= 1 and stable >= 1 and total <= canary + stable <= total + 1


BATCHES = [  # total, gray, batches -> sizes
    (10, 1, 3, [1, 3, 3, 3]),
    (10, 2, 3, [2, 2, 3, 3]),
    (11, 1, 4, [1, 2, 2, 3, 3]),   # the remainder goes to the later batches
    (5, 1, 10, [1, 1, 1, 1, 1]),   # never more batches than pods
    (2, 1, 1, [1, 1]),
]


@pytest.mark.parametrize("total,gray,batches,sizes", BATCHES)
def test_batch_sizes(total, gray, batches, sizes):
    assert batch_sizes(total, gray, batches) == sizes
    assert sum(sizes) == total and sizes == [gray] + sorted(sizes[1:])
