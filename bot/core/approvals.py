"""Approval rules (apps.yaml `approvals:`, `stages:`, `approval_timeout:`): a stage that needs N
distinct people moves on the Nth approval; before that a click is a vote. Who may vote at all is
the policy's question (policy.py); this counts, under the app's lock, so concurrent clicks by
one person count once."""
from __future__ import annotations

from bot.domain.durations import format_duration
from bot.domain.model import Event, Phase, Release
from bot.domain.names import GRAYBOT, SCHEDULER
from bot.domain.rules import Rules

from . import refusals
from .refusals import Refused


def votes_of(release: Release, full: bool = False) -> list[str]:
    """Who has approved the move from the current stage so far (`full`: the jump to the last
    stage, counted apart: a vote for the next stage is not a vote for skipping them all)."""
    return list((release.runtime.votes or {}).get(ballot(release, full), []))


def ballot(release: Release, full: bool) -> str:
    return f"{release.stage}-full" if full else str(release.stage)


def counted(rules: Rules, release: Release, event: Event, actor: str, extra: dict) -> tuple[Event, dict]:
    if event not in (Event.APPROVE, Event.APPROVE_FULL) or release.phase != Phase.WAITING \
            or actor in (SCHEDULER, GRAYBOT):
        return event, extra          # timers were approved by whoever set them
    full = event == Event.APPROVE_FULL
    mine = votes_of(release, full)
    if actor in mine and len(mine) >= rules.approvals:
        return event, extra          # approved already (waiting for its window): `approve --now` carries it out
    if actor in mine:
        raise Refused(refusals.voted_twice(actor, release, rules.approvals - len(mine)))
    votes = dict(release.runtime.votes or {})
    votes[ballot(release, full)] = mine + [actor]
    extra = dict(extra, votes=votes)
    return (Event.VOTE if len(mine) + 1 < rules.approvals else event), extra


def on_expiry(rules: Rules, release: Release) -> tuple[Event, str]:
    step = release.next_stage.name if release.next_stage else release.current.name
    event = Event.ROLLBACK if rules.on_approval_timeout == "rollback" else Event.PAUSE
    return event, f"no approval of stage {step} within {format_duration(rules.approval_timeout or 0)}"

