"""Release policy from apps.yaml (pure): deny/allow windows (global `policy:` and per app),
approval rules (how many distinct people, extra approvers for a stage, an expiry) and webhook
gates. Parsing records every problem, like the rest of the registry."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .durations import parse_duration
from .names import IDENTITY, IDS_PROBLEM
from .windows import Window, WindowError, parse as parse_window

WEBHOOK_KEYS = ("url", "timeout")
WEBHOOK_KINDS = ("pre-rollout", "pre-promotion", "post-rollout", "rollback", "gitops")
TIMEOUT_ACTIONS = ("pause", "rollback")
POLICY_KEYS = ("deny", "allow")
RULE_KEYS = ("deny", "allow", "approvals", "stages", "approval_timeout", "on_approval_timeout", "remind_after",
             "webhooks")
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


@dataclass(frozen=True)
class Webhook:
    url: str
    timeout: int = 10             # seconds; no answer within it is inconclusive


@dataclass(frozen=True)
class Windows:
    deny: tuple[Window, ...] = ()
    allow: tuple[Window, ...] = ()


@dataclass(frozen=True)
class Rules:
    windows: Windows = field(default_factory=Windows)
    approvals: int = 1                                          # distinct people per stage
    stage_approvers: tuple[tuple[int, tuple[str, ...]], ...] = ()   # weight -> who must be among them
    approval_timeout: int | None = None                         # seconds a stage may wait
    on_approval_timeout: str = "pause"
    remind_after: int = 1800                                    # seconds before paged approvers are reminded
    webhooks: tuple[tuple[str, tuple[Webhook, ...]], ...] = ()

    def approvers_for(self, weight: int) -> tuple[str, ...]:
        """`stages: {W: [...]}` applies to every stage at weight W or above (the highest W that
        does), so steps that avoid the listed weight (10, 99, 100 past a `90:`) cannot skip it."""
        return next((ids for w, ids in sorted(self.stage_approvers, reverse=True) if w <= weight), ())

    def hooks(self, kind: str) -> tuple[Webhook, ...]:
        return next((hooks for k, hooks in self.webhooks if k == kind), ())


def parse_windows(raw: dict, where: str, problems: list[str]) -> Windows:
    found = {}
    for key in POLICY_KEYS:
        items = raw.get(key) or []
        if not isinstance(items, list):
            problems.append(f"{where}.{key}: must be a list of windows")
            items = []
        parsed = []
        for i, item in enumerate(items):
            try:
                parsed.append(parse_window(str(item)))
            except WindowError as err:
                problems.append(f"{where}.{key}[{i}]: {err}")
        found[key] = tuple(parsed)
    return Windows(**found)


def _count(raw: dict, where: str, problems: list[str]) -> int:
    value = raw.get("approvals", 1)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10:
        problems.append(f"{where}.approvals: must be a whole number from 1 to 10, not {value!r}")
        return 1
    return value


def _stages(raw: dict, where: str, problems: list[str]) -> tuple[tuple[int, tuple[str, ...]], ...]:
    stages = raw.get("stages") or {}
    if not isinstance(stages, dict):
        problems.append(f"{where}.stages: must map a stage's weight to approver IDs, e.g. {{100: [S0PRODLEADS]}}")
        return ()
    out = []
    for weight, ids in stages.items():
        if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 100:
            problems.append(f"{where}.stages: {weight!r} is not a stage weight from 1 to 100")
            continue
        if not isinstance(ids, list) or not ids or not all(IDENTITY.match(str(i)) for i in ids):
            problems.append(f"{where}.stages.{weight}: {IDS_PROBLEM}")
            continue
        out.append((weight, tuple(map(str, ids))))
    return tuple(sorted(out))


def _webhooks(raw: object, where: str, problems: list[str]) -> tuple[tuple[str, tuple[Webhook, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        problems.append(f"{where}.webhooks: must map {', '.join(WEBHOOK_KINDS)} to lists of {{url, timeout}}")
        return ()
    out = []
    for kind, hooks in raw.items():
        if kind not in WEBHOOK_KINDS:
            problems.append(f"{where}.webhooks: {kind!r} is not one of {', '.join(WEBHOOK_KINDS)}")
            continue
        parsed = []
        for i, hook in enumerate(hooks if isinstance(hooks, list) else [None]):
            spot = f"{where}.webhooks.{kind}[{i}]"
            if not isinstance(hook, dict) or not _URL.match(str(hook.get("url", ""))):
                problems.append(f"{spot}: needs url: http(s)://...")
                continue
            unknown = set(hook) - set(WEBHOOK_KEYS)
            if unknown:
                problems.append(f"{spot}: unknown key {sorted(unknown)[0]!r}")
            seconds = parse_duration(str(hook.get("timeout", "10s")))
            if seconds is None or not 1 <= seconds <= 600:
                problems.append(f"{spot}.timeout: a duration from 1s to 10m, not {hook.get('timeout')!r}")
                seconds = 10
            parsed.append(Webhook(str(hook["url"]), seconds))
        out.append((kind, tuple(parsed)))
    return tuple(out)


def parse_rules(raw: dict, where: str, problems: list[str]) -> Rules:
    timeout = None
    if raw.get("approval_timeout") is not None:
        timeout = parse_duration(str(raw["approval_timeout"]))
        if timeout is None:
            problems.append(f"{where}.approval_timeout: {raw['approval_timeout']!r} is not a duration like 2h")
    remind = parse_duration(str(raw.get("remind_after", "30m")))
    if remind is None or remind < 1:
        problems.append(f"{where}.remind_after: {raw.get('remind_after')!r} is not a duration like 30m")
        remind = 1800
    action = str(raw.get("on_approval_timeout", "pause"))
    if action not in TIMEOUT_ACTIONS:
        problems.append(f"{where}.on_approval_timeout: must be pause or rollback, not {action!r}")
        action = "pause"
    return Rules(windows=parse_windows(raw, where, problems), approvals=_count(raw, where, problems),
                 stage_approvers=_stages(raw, where, problems), approval_timeout=timeout,
                 on_approval_timeout=action, remind_after=remind, webhooks=_webhooks(raw.get("webhooks"), where, problems))
