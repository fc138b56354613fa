"""Recreate: every old pod stops before any new pod starts (downtime, said in the plan)."""
from __future__ import annotations

from bot.domain.model import Stage
from bot.language.grammar import StartCommand

from .base import InPlace, Target


class Recreate(InPlace):
    name = "recreate"

    def strategy_for(self, target: Target, cmd: StartCommand) -> dict:
        return {"type": "Recreate"}

    def stage(self, target: Target, strategy: dict) -> Stage:
        return Stage("recreate", 100, target.replicas, 0,
                     f"DOWNTIME: all {target.replicas} {target.from_version} pods stop before any "
                     f"{target.to_version} pod starts")
