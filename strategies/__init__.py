"""Release strategies: one module each; `build` makes the set the engine uses."""
from __future__ import annotations

from bot.settings import AppSpec

from .base import Plan, PlanError, Progress, Strategy, Target
from .batch import Batch
from .bluegreen import BlueGreen
from .canary import AB, Canary
from .inplace import Recreate, Rolling

__all__ = ["Plan", "PlanError", "Progress", "Strategy", "Target", "build"]


def build(apps: dict[str, AppSpec]) -> dict[str, Strategy]:
    return {s.name: s for s in (Canary(apps), AB(apps), BlueGreen(apps), Rolling(apps), Recreate(apps),
                                   Batch(apps))}
