"""What a strategy needs of the engine, the timers and the views, said once per strategy, so
no code outside strategies/ tests a strategy's name. Each strategy class carries its Traits
(strategies.build checks they are the ones registered here, where the lower layers read them)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Traits:
    gray_gate: bool = False            # a person always approves the move past its first stage
    clock_timers: bool = False         # `--at HH:MM` schedules its stages
    undo_stage_by_stage: bool = False  # `rollback --batches` walks back stage by stage
    notes_every_stage: bool = False    # the live message shows every stage's note, not only the current one's


PLAIN = Traits()
BATCHES = Traits(gray_gate=True, clock_timers=True, undo_stage_by_stage=True, notes_every_stage=True)
REGISTERED: dict[str, Traits] = {"batch": BATCHES}


def of(strategy: str) -> Traits:
    return REGISTERED.get(strategy, PLAIN)
