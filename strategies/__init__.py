"""Release strategies: one module each (names: bot.domain.names.STRATEGIES); `build` is the one
place that makes them, for bot/wiring.py."""
from __future__ import annotations

from bot.domain.apps import AppSpec
from bot.domain import traits
from bot.domain.names import STRATEGIES

from .base import Plan, PlanError, Progress, Strategy, Target

__all__ = ["Plan", "PlanError", "Progress", "Strategy", "Target", "build"]


def build(apps: dict[str, AppSpec]) -> dict[str, Strategy]:
    from .ab import AB
    from .batch import Batch
    from .bluegreen import BlueGreen
    from .canary import Canary
    from .recreate import Recreate
    from .rolling import Rolling

    made = {s.name: s for s in (Canary(apps), AB(apps), BlueGreen(apps), Rolling(apps), Recreate(apps),
                                Batch(apps))}
    assert tuple(made) == STRATEGIES, "bot.domain.names.STRATEGIES and the strategy classes must agree"
    for name, strategy in made.items():
        assert getattr(strategy, "traits", traits.PLAIN) == traits.of(name), \
            f"{name}: its traits must be the ones registered in bot.domain.traits"
    from .controlled import Controlled        # not typed by people: apps whose controller runs the steps
    made[Controlled.name] = Controlled(apps)
    return made
