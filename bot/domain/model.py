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
    """One cluster's part of a release: its own plan and, once left, what it reached. The wave
    being run is also spelled out in the release's top-level fields, which the strategies read."""
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
    cluster: str = ""               # the cluster of the wave being run ("" in records from before clusters)
    wave: int = 0                   # index into `waves`
    waves: tuple[Wave, ...] = ()    # empty for a one-cluster release

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
        wave = self.waves[index]
        return self.replace(**{name: getattr(wave, name) for name in WAVE_FIELDS}, wave=index,
                            stage=len(wave.stages) - 1)

    def enter_wave(self, index: int, left_as: WaveState) -> "Release":
        """Leave the current wave (kept as `left_as`, with what it reached) and run wave `index`."""
        waves = list(self.waves)
        waves[self.wave] = Wave(**{name: getattr(self, name) for name in WAVE_FIELDS}, state=left_as)
        target = waves[index]
        waves[index] = dataclasses.replace(target, state=WaveState.RUNNING)
        return self.replace(**{name: getattr(target, name) for name in WAVE_FIELDS}, wave=index,
                            waves=tuple(waves), stage=len(target.stages) - 1 if index < self.wave else 0)

    def wave_state(self, index: int, state: WaveState) -> "Release":
        waves = list(self.waves)
        waves[index] = dataclasses.replace(waves[index], state=state)
        return self.replace(waves=tuple(waves))

    def replace(self, **changes) -> "Release":
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
        raw["phase"] = Phase(raw["phase"])
        raw["paused_from"] = Phase(raw["paused_from"]) if raw.get("paused_from") else None
        raw["stages"] = tuple(Stage.from_dict(s) for s in raw["stages"])
        raw["waves"] = tuple(Wave.from_dict(w) for w in raw.get("waves") or ())
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})   # older records carry `ts`
