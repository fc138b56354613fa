"""The typed parts of a saved release: the command it was started with, and what graybot keeps
while it runs (timers, votes, marks). Every key has a type here; nothing is read by string key.

Both are plain data, saved as JSON inside the release record (model.py) and upgraded from the
untyped `options` dict of schema 1 by `split_options`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Match:
    """An A/B segment: requests carrying this header (or cookie) go to the new version."""
    kind: str            # header | cookie
    name: str
    value: str = "always"
    regex: bool = False  # header:NAME~REGEX (a regular expression on the value)

    def __str__(self) -> str:
        if self.kind == "header":
            return f"header {self.name}{'~' if self.regex else '='}{self.value}"
        return f"cookie {self.name}"


@dataclass(frozen=True)
class SavedCommand:
    """The start command's options, as given (and the app's approval count at the start)."""
    steps: tuple[int, ...] = ()
    router: str | None = None
    sticky: bool = False
    mirror: int = 0                 # --mirror P%: a first shadow stage copying P% of requests
    auto: int | None = None
    bake: int | None = None
    auto_rollback: bool = True
    match: Match | None = None
    max_surge: str | None = None
    max_unavailable: str | None = None
    gray: int = 1
    batches: int = 3
    every: int | None = None
    at: str | None = None
    window: str | None = None
    tz: str | None = None
    manual: bool = False
    cluster: str | None = None
    waves: tuple[str, ...] = ()
    wave_every: int | None = None
    dry_run: bool = False
    approvals_needed: int = 1

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "SavedCommand":
        known = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in raw.items() if k in known}
        if kept.get("match"):
            kept["match"] = Match(**kept["match"])
        for key in ("steps", "waves"):
            if key in kept:
                kept[key] = tuple(kept[key] or ())
        return cls(**kept)


@dataclass(frozen=True)
class Runtime:
    """What a running release carries besides its phase. The first five belong to one stage of
    one wave: a new wave starts without them (for_new_wave)."""
    next_at: float | None = None              # a timer advances the release then
    approval_due: float | None = None         # approval_timeout: pause or roll back then
    votes: dict[str, list[str]] = field(default_factory=dict)   # stage index -> who approved
    overridden_stage: int | None = None       # `continue` past a held gate: its checks are off
    gray_approved: str | None = None          # batch --at: who approved the gray batch
    cluster_down: str | None = None           # the cluster whose outage paused the release
    rollback_waves: bool = False              # rollback --all-waves
    rollback_batches: bool = False            # rollback --batches

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Runtime":
        known = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in raw.items() if k in known}
        kept["votes"] = {str(k): list(v) for k, v in (kept.get("votes") or {}).items()}
        kept["rollback_waves"] = bool(kept.get("rollback_waves"))
        kept["rollback_batches"] = bool(kept.get("rollback_batches"))
        return cls(**kept)

    def update(self, changes: dict[str, Any]) -> "Runtime":
        """Changes by field name; an unknown name is a programming error (TypeError)."""
        return dataclasses.replace(self, **changes) if changes else self

    def for_new_wave(self) -> "Runtime":
        return dataclasses.replace(self, next_at=None, approval_due=None, votes={}, overridden_stage=None,
                                   gray_approved=None)


RUNTIME_KEYS = frozenset(f.name for f in dataclasses.fields(Runtime))


def split_options(options: dict[str, Any]) -> tuple[SavedCommand, Runtime]:
    """Schema 1 kept the command and the runtime keys in one `options` dict."""
    return SavedCommand.from_dict(options), Runtime.from_dict(options)
