"""Rolling update: the stable Deployment's own RollingUpdate, with graybot's maxSurge and
maxUnavailable; the Deployment controller moves the pods, graybot waits and can undo it."""
from __future__ import annotations

from bot.domain.model import Stage
from bot.language.grammar import StartCommand

from .base import InPlace, Target


class Rolling(InPlace):
    name = "rolling"

    def strategy_for(self, target: Target, cmd: StartCommand) -> dict:
        current = (target.stable["spec"].get("strategy") or {}).get("rollingUpdate") or {}
        surge = _int_or_pct(cmd.max_surge) if cmd.max_surge else current.get("maxSurge", "25%")
        unavailable = _int_or_pct(cmd.max_unavailable) if cmd.max_unavailable else \
            current.get("maxUnavailable", "25%")
        return {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}

    def stage(self, target: Target, strategy: dict) -> Stage:
        ru = strategy["rollingUpdate"]
        return Stage("rolling update", 100, target.replicas, 0,
                     f"{target.stable_name} rolls to {target.to_version}: maxSurge {ru['maxSurge']}, "
                     f"maxUnavailable {ru['maxUnavailable']}")


def _int_or_pct(text: str) -> int | str:
    return text if text.endswith("%") else int(text)
