"""A controller's steps as a release's stages, the same for every controller kind (Argo Rollouts,
Kruise Rollouts): one stage ending at each step where a person approves, one ending at full
promotion; the new version's pods at a weight as a basic canary counts them."""
from __future__ import annotations

import math
from typing import Any, Callable

from bot.domain.model import Stage


def canary_pods(replicas: int, weight: int) -> int:
    """Argo's basic canary (no traffic router): the canary's share of the pods, rounded up."""
    return math.ceil(replicas * weight / 100)


def stages_of(steps: list[dict[str, Any]], pauses: list[int], replicas: int,
              weight_of: Callable[[list[dict[str, Any]], int], int],
              text_of: Callable[[dict[str, Any]], str]) -> tuple[Stage, ...]:
    """A release's stages from a controller's steps: one ending at each pause where a person approves
    (its weight then) and one ending at full promotion."""
    stages, start = [], 0
    for end in pauses + [len(steps)]:
        weight = 100 if end == len(steps) else weight_of(steps, end)
        ran = [text_of(s) for s in steps[start:end]]
        note = ", ".join(ran) + (", then full promotion" if end == len(steps) else ", then pause until approved")
        new = canary_pods(replicas, weight)
        stages.append(Stage(f"{weight}%", weight, new, replicas - new, note.lstrip(", ")))
        start = end + 1
    return tuple(stages)
