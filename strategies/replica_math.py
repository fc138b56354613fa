"""Replica arithmetic (pure): Argo Rollouts' split for a canary without a traffic router."""
from __future__ import annotations

import math


def canary_split(total: int, weight: int, surge: bool = True) -> tuple[int, int]:
    """(canary, stable) pods whose ratio is closest to `weight`% of `total`.

    Try ceil and floor of total*w/100 out of total (and out of total+1 when surge is
    allowed); never 0 canary pods for 1 <= w <= 99, never 0 stable pods below 100%.
    """
    if weight >= 100 or total == 0:
        return total, 0
    best: tuple[float, int, int, int] | None = None
    for size in (total, total + 1) if surge else (total,):
        exact = size * weight / 100
        for canary in {math.floor(exact), math.ceil(exact)}:
            canary = max(1, canary)
            stable = size - canary
            if stable < 1 or stable > total:
                continue
            score = (abs(canary / size - weight / 100), size, -stable)
            if best is None or score < best[:3]:
                best = (*score, canary)
    if best is None:
        return 1, max(total - 1, 0)
    canary = best[3]
    size = int(best[1])
    return canary, size - canary
