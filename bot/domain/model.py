"""Phases, events, stages and the release record (pure data; JSON in and out)."""
from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .state import Runtime, SavedCommand, split_options


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
    WAVE_DONE = "wave_done"                   # a wave's last stage is healthy; the next waits for approval
    WAVE_ROLLED_BACK = "wave_rolled_back"     # rollback --all-waves: this wave is undone, the one before is next

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Stage:
    name: str                       # what people read: "10%", "green ready", "batch 2/3"
    weight: int                     # share of traffic (or replicas) on the new version, 0-100
    new_replicas: int
    old_replicas: int
    note: str = ""                  # e.g. the match rule or a downtime warning
    mirror: int = 0                 # a shadow stage: this % of requests copied to the new version

    @classmethod
    def from_dict(cls, raw: dict) -> "Stage":
        return cls(**raw)


class WaveState(str, Enum):
    PENDING = "pending"          # not started: nothing in its cluster has changed
    RUNNING = "running"
    DONE = "done"                # every stage healthy; the old version is retired when the release ends
    ROLLED_BACK = "rolled_back"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Wave:
    """One cluster's part of a release: its own plan and, once left, what it reached."""
    cluster: str
    namespace: str
    from_version: str
    stable_name: str
    new_name: str
    replicas: int
    stages: tuple[Stage, ...]
    origin: dict = field(default_factory=dict)
    state: WaveState = WaveState.PENDING

    @classmethod
    def from_dict(cls, raw: dict) -> "Wave":
        return cls(**dict(raw, stages=tuple(Stage.from_dict(s) for s in raw["stages"]),
                          state=WaveState(raw.get("state", "pending"))))


WAVE_FIELDS = ("cluster", "namespace", "from_version", "stable_name", "new_name", "replicas", "stages", "origin")
SCHEMA = 2          # the release record's shape; from_json upgrades older ones (upgrade_v1)


def _wave_field(name: str) -> property:
    return property(lambda self: getattr(self.waves[self.wave], name),
                    doc=f"the running wave's {name} (the one copy is in `waves`)")


@dataclass(frozen=True)
class Release:
    """One release, as saved in Redis. The plan of each cluster is in `waves` (one for a
    one-cluster release); the running wave's plan is read through the properties below."""
    id: str
    app: str
    strategy: str
    to_version: str
    image: str
    requested_by: str
    waves: tuple[Wave, ...]
    wave: int = 0                   # index into `waves`: the one being run
    command: SavedCommand = field(default_factory=SavedCommand)
    runtime: Runtime = field(default_factory=Runtime)
    phase: Phase = Phase.PENDING
    stage: int = 0                  # index of the current (or last reached) stage
    paused_from: Phase | None = None
    version: int = 0                # state version for compare-and-set
    created_at: float = 0.0
    updated_at: float = 0.0
    last_actor: str = ""
    last_action: str = ""
    reason: str = ""                # why it failed or rolled back
    platform: str = "slack"         # the chat platform its live message is on ("cli": none)
    conversation: str = ""          # where it was asked for (its live message goes there)
    override: str = ""              # --override-policy "reason": who bypassed the policy, and why
    schema: int = SCHEMA

    cluster = _wave_field("cluster")
    namespace = _wave_field("namespace")
    from_version = _wave_field("from_version")
    stable_name = _wave_field("stable_name")       # the workload serving before the release
    new_name = _wave_field("new_name")             # the new version's (== stable for in-place)
    replicas = _wave_field("replicas")             # N, the stable size at the start
    stages = _wave_field("stages")
    origin = _wave_field("origin")                 # cluster facts needed to undo

    @classmethod
    def make(cls, **fields: Any) -> "Release":
        """A release from the flat shape (the running wave's plan as top-level fields, and
        `options` for the command and runtime): tests and schema-1 records."""
        plan = {name: fields.pop(name) for name in WAVE_FIELDS if name in fields}
        plan.setdefault("cluster", "")
        plan.setdefault("origin", {})
        if "options" in fields:
            fields["command"], fields["runtime"] = split_options(fields.pop("options") or {})
        if "channel" in fields:
            fields["conversation"] = fields.pop("channel")
        waves = list(fields.pop("waves", ()) or ())
        index = fields.get("wave", 0)
        if not waves:
            waves = [Wave(**plan, state=WaveState.RUNNING)]
        else:
            waves[index] = dataclasses.replace(waves[index], **plan)
        return cls(waves=tuple(waves), **fields)

    @staticmethod
    def new_id(app: str) -> str:
        return f"{app}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:4]}"

    @property
    def channel(self) -> str:
        return self.conversation

    @property
    def in_waves(self) -> bool:
        """Does it run in several clusters, one after another?"""
        return len(self.waves) > 1

    @property
    def current(self) -> Stage:
        return self.stages[self.stage]

    @property
    def next_stage(self) -> Stage | None:
        return self.stages[self.stage + 1] if self.stage + 1 < len(self.stages) else None

    @property
    def last(self) -> bool:
        return self.stage == len(self.stages) - 1

    @property
    def next_wave(self) -> Wave | None:
        return self.waves[self.wave + 1] if self.wave + 1 < len(self.waves) else None

    @property
    def stage_key(self) -> str | int:
        """What stage clocks and marks are kept under: the stage, and the wave when there are several."""
        return self.stage if self.wave == 0 else f"w{self.wave}.{self.stage}"

    def at_wave(self, index: int) -> "Release":
        """The release as its wave `index` is (for undoing or retiring a wave that is not current)."""
        if index == self.wave:
            return self
        return self.replace(wave=index, stage=len(self.waves[index].stages) - 1)

    def enter_wave(self, index: int, left_as: WaveState) -> "Release":
        """Leave the current wave (kept as `left_as`, with what it reached) and run wave `index`."""
        waves = list(self.waves)
        waves[self.wave] = dataclasses.replace(waves[self.wave], state=left_as)
        waves[index] = dataclasses.replace(waves[index], state=WaveState.RUNNING)
        return self.replace(wave=index, waves=tuple(waves),
                            stage=len(waves[index].stages) - 1 if index < self.wave else 0)

    def wave_state(self, index: int, state: WaveState) -> "Release":
        waves = list(self.waves)
        waves[index] = dataclasses.replace(waves[index], state=state)
        return self.replace(waves=tuple(waves))

    def replace(self, **changes: Any) -> "Release":
        """dataclasses.replace; a change to a wave field changes the running wave's plan."""
        plan = {name: changes.pop(name) for name in WAVE_FIELDS if name in changes}
        if plan:
            waves = list(changes.get("waves", self.waves))
            index = changes.get("wave", self.wave)
            waves[index] = dataclasses.replace(waves[index], **plan)
            changes["waves"] = tuple(waves)
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        raw = dataclasses.asdict(self)
        raw["phase"] = self.phase.value
        raw["paused_from"] = self.paused_from.value if self.paused_from else None
        for wave in raw["waves"]:
            wave["state"] = WaveState(wave["state"]).value
        return json.dumps(raw, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Release":
        raw = json.loads(text)
        if raw.get("schema", 1) < SCHEMA:
            return upgrade_v1(raw)
        raw["phase"] = Phase(raw["phase"])
        raw["paused_from"] = Phase(raw["paused_from"]) if raw.get("paused_from") else None
        raw["waves"] = tuple(Wave.from_dict(w) for w in raw["waves"])
        raw["command"] = SavedCommand.from_dict(raw.get("command") or {})
        raw["runtime"] = Runtime.from_dict(raw.get("runtime") or {})
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def upgrade_v1(raw: dict) -> Release:
    """A record of schema 1 (no `schema` key): the running wave's plan in top-level fields (and
    again, stale, in `waves[wave]` when there were several), the command and runtime keys in one
    `options` dict, and `channel`."""
    raw = dict(raw)
    raw["phase"] = Phase(raw["phase"])
    raw["paused_from"] = Phase(raw["paused_from"]) if raw.get("paused_from") else None
    raw["stages"] = tuple(Stage.from_dict(s) for s in raw["stages"])
    raw["waves"] = tuple(Wave.from_dict(w) for w in raw.get("waves") or ())
    if not raw["waves"]:
        raw["waves"] = (Wave(**{name: raw[name] for name in WAVE_FIELDS if name in raw},
                             state=_one_wave_state(raw["phase"])),)
        raw["wave"] = 0
    known = {f.name for f in dataclasses.fields(Release)} | set(WAVE_FIELDS) | {"options", "channel"}
    raw = {k: v for k, v in raw.items() if k in known and k != "schema"}    # older records carry `ts`
    return Release.make(**raw)


def _one_wave_state(phase: Phase) -> WaveState:
    return {Phase.SUCCEEDED: WaveState.DONE, Phase.ROLLED_BACK: WaveState.ROLLED_BACK}.get(phase, WaveState.RUNNING)
