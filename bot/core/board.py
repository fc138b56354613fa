"""One person's board of releases, as a chat platform's home screen shows it (Slack's Home tab):
what waits for *their* approval first, then everything else running (every cluster and wave),
the freezes and windows in force, and the last finished releases; and who to ask when a release
waits for approval (the people paged). Neutral: the platform renders and sends them; who may
approve is the release policy's answer, the same one a click gets."""
from __future__ import annotations

from dataclasses import dataclass

from bot.domain.model import Phase, Release

from .engine import Engine
from .policy import Policy

FINISHED = 10


@dataclass(frozen=True)
class Board:
    awaiting: tuple[Release, ...]      # waiting for an approval this person may give
    running: tuple[Release, ...]       # every other live release
    freezes: tuple[str, ...]           # freezes and windows in force, with their end
    finished: tuple[Release, ...]      # the last FINISHED, newest first


def board_for(engine: Engine, policy: Policy, user: str) -> Board:
    awaiting: list[Release] = []
    running: list[Release] = []
    for release in sorted(engine.store.active(), key=lambda r: r.created_at):
        app = engine.registry.get(release.app)
        mine = release.phase == Phase.WAITING and app is not None and \
            policy.refusal("approve", app, user, release.conversation, release) is None
        (awaiting if mine else running).append(release)
    done = [r for app in sorted(engine.registry) for r in engine.store.history(app, FINISHED)]
    done.sort(key=lambda r: r.updated_at, reverse=True)
    return Board(tuple(awaiting), tuple(running), tuple(engine.freezes.lines()), tuple(done[:FINISHED]))


def to_page(engine: Engine, policy: Policy, release: Release) -> list[str]:
    """The people to ask for the approval a waiting release needs: its app's approvers and the
    approvers of the stages ahead (members of approver groups one by one), those the policy would
    let approve this very gate. Nobody when anyone may approve (a workspace is not paged)."""
    app = engine.registry.get(release.app)
    if app is None or release.phase != Phase.WAITING:
        return []
    here = app.at(release.next_wave.cluster if release.last and release.next_wave is not None else release.cluster)
    named = set(here.approvers) | set(here.rules.approvers_for(100))
    if release.next_stage is not None:
        named |= set(here.rules.approvers_for(release.next_stage.weight))
    people: set[str] = set()
    for who in named:
        people |= set(policy.group_members(who)) if policy.is_group(who) else {who}
    people -= engine.store.muted()
    return sorted(u for u in people if policy.refusal("approve", app, u, release.conversation, release) is None)
