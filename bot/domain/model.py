"""Phases, events, stages and the release record (pure data; JSON in and out)."""
from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum


class Phase(str, Enum):
    PENDING = "pending"
    PROGRESSING = "progressing"      # a stage is being applied
    WAITING = "waiting"              # the stage is healthy; its gate has not passed yet
    PAUSED = "paused"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    SUCCEEDED = "succeeded"
    FAILED = "failed"                # even the rollback could not finish

    @property
    def live(self) -> bool:
        return self not in TERMINAL

    def __str__(self) -> str:
        return self.value


TERMINAL = {Phase.ROLLED_BACK, Phase.SUCCEEDED, Phase.FAILED}


class Event(str, Enum):
    START = "start"
    STAGE_HEALTHY = "stage_healthy"
    FINISHED = "finished"            # the last stage is healthy and the old version is retired
    APPROVE = "approve"
    APPROVE_FULL = "approve_full"
    VOTE = "vote"                    # one approval of several a stage needs: it stays waiting
    PAUSE = "pause"
    RESUME = "resume"
    ROLLBACK = "rollback"
    GATE_FAILED = "gate_failed"
    GATE_INCONCLUSIVE = "gate_inconclusive"   # no data: paused for a human
    GATE_HELD = "gate_held"                   # failed, but auto-rollback is off: paused with evidence
    OVERRIDE = "override"                     # a human continues past a held or inconclusive gate
    SCHEDULE = "schedule"                     # stays waiting; a timer will advance it (next_at)
    ROLLBACK_DONE = "rollback_done"
    ROLLBACK_FAILED = "rollback_failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Stage:
    name: str                       # what people read: "10%", "green ready", "batch 2/3"
    weight: int                     # share of traffic (or replicas) on the new version, 0-100
    new_replicas: int
    old_replicas: int
    note: str = ""                  # e.g. the match rule or a downtime warning

    @classmethod
    def from_dict(cls, raw: dict) -> "Stage":
        return cls(**raw)


@dataclass(frozen=True)
class Release:
    id: str
    app: str
    strategy: str
    namespace: str
    from_version: str
    to_version: str
    image: str
    stable_name: str                # the Deployment serving before the release
    new_name: str                   # the Deployment of the new version (== stable for in-place)
    replicas: int                   # N, the stable size at the start
    stages: tuple[Stage, ...]
    requested_by: str
    options: dict = field(default_factory=dict)   # the command's options (plain JSON)
    phase: Phase = Phase.PENDING
    stage: int = 0                  # index of the current (or last reached) stage
    paused_from: Phase | None = None
    version: int = 0                # state version for compare-and-set
    created_at: float = 0.0
    updated_at: float = 0.0
    last_actor: str = ""
    last_action: str = ""
    reason: str = ""                # why it failed or rolled back
    channel: str = ""               # where the release was asked for (its live message goes there)
    origin: dict = field(default_factory=dict)    # cluster facts needed to undo (selectors, revision)

    @staticmethod
    def new_id(app: str) -> str:
        return f"{app}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:4]}"

    @property
    def current(self) -> Stage:
        return self.stages[self.stage]

    @property
    def next_stage(self) -> Stage | None:
        return self.stages[self.stage + 1] if self.stage + 1 < len(self.stages) else None

    @property
    def last(self) -> bool:
        return self.stage == len(self.stages) - 1

    def replace(self, **changes) -> "Release":
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        raw = dataclasses.asdict(self)
        raw["phase"] = self.phase.value
        raw["paused_from"] = self.paused_from.value if self.paused_from else None
        return json.dumps(raw, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Release":
        raw = json.loads(text)
        raw["phase"] = Phase(raw["phase"])
        raw["paused_from"] = Phase(raw["paused_from"]) if raw.get("paused_from") else None
        raw["stages"] = tuple(Stage.from_dict(s) for s in raw["stages"])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})   # older records carry `ts`
