"""Who may start, approve and stop which app, and where (apps.yaml channels/approvers).

Platform-neutral: the chat edge supplies how to look up a user group's members and how to
write a user, channel or group so people recognise it. A refusal is a sentence for the person;
None means allowed.
"""
from __future__ import annotations

from typing import Callable, Protocol

from bot.domain.apps import AppSpec
from bot.domain.model import Phase, Release

APPROVER_VERBS = {"approve", "continue"}
GUARD_VERBS = {"pause", "resume", "rollback"}     # approvers, or the release's requester


class Mentions(Protocol):
    def user(self, user_id: str) -> str: ...
    def channel(self, channel_id: str) -> str: ...
    def group(self, group_id: str) -> str: ...


class PlainMentions:
    """IDs as they are (the CLI, tests)."""

    def user(self, user_id: str) -> str:
        return user_id

    def channel(self, channel_id: str) -> str:
        return channel_id

    def group(self, group_id: str) -> str:
        return group_id


class Policy:
    def __init__(self, group_members: Callable[[str], frozenset[str]] = lambda _g: frozenset(),
                 mentions: Mentions | None = None, is_group: Callable[[str], bool] = lambda _id: False):
        """`group_members` and `is_group`: how the chat platform knows its user groups (an ID it
        cannot resolve is a person, never everyone)."""
        self.group_members = group_members
        self.mentions = mentions or PlainMentions()
        self.is_group = is_group

    def is_approver(self, app: AppSpec, user: str, among: tuple[str, ...] | None = None) -> bool:
        """`among`: who may approve (default: the app's approvers; empty: anyone)."""
        among = app.approvers if among is None else among
        if not among:
            return True
        return user in among or any(user in self.group_members(g) for g in among if self.is_group(g))

    @staticmethod
    def stage_approvers(app: AppSpec, release: Release | None) -> tuple[str, ...]:
        """apps.yaml `stages: {100: [S0PRODLEADS]}`: who approves the move to that stage."""
        if release is None or release.next_stage is None:
            return ()
        return app.rules.approvers_for(release.next_stage.weight)

    def channel_refusal(self, app: AppSpec, channel: str) -> str | None:
        if app.channels and channel not in app.channels:
            where = ", ".join(self.mentions.channel(c) for c in app.channels)
            return f"{app.name} can be released only from {where}."
        return None

    def refusal(self, verb: str, app: AppSpec, user: str, channel: str,
                release: Release | None = None, check_channel: bool = True) -> str | None:
        """Why `user` may not do `verb` on `app` from `channel`, or None. In several clusters the
        cluster acted on decides (its `approvers:` override): approving at a wave's end starts
        the next wave, so that wave's cluster decides."""
        app = self._in_cluster(verb, app, release)
        if check_channel and (text := self.channel_refusal(app, channel)) is not None:
            return text
        who = self.mentions.user(user)
        if verb in APPROVER_VERBS:
            if verb == "approve" and release is not None and release.next_stage is not None and \
                    (stage_group := self.stage_approvers(app, release)):
                if not self.is_approver(app, user, stage_group):
                    return (f"{who} may not approve {app.name}'s move to {release.next_stage.name}; "
                            f"that stage is approved by {self._names(app, stage_group)}.")
            elif not self.is_approver(app, user):
                return f"{who} is not an approver of {app.name}; ask one of {self._names(app)}."
            if release is not None and not app.requester_can_approve and user == release.requested_by:
                return (f"{app.name} needs a second person: the requester ({who}) cannot approve "
                        "their own release.")
        if verb in GUARD_VERBS and not self.is_approver(app, user) and \
                (release is None or user != release.requested_by):
            return f"{who} may not {verb} {app.name}: only its approvers or the requester can."
        return None

    def start_refusal(self, app: AppSpec, user: str, channel: str, cluster: str | None,
                      waves: tuple[str, ...], check_channel: bool = True) -> str | None:
        """Anyone in the app's channels may start a release; where the first wave's cluster has
        its own `approvers:`, starting applies its first stage there, so only they may."""
        if check_channel and (text := self.channel_refusal(app, channel)) is not None:
            return text
        first = cluster or (waves or app.placement.waves or app.clusters)[0]
        here = app.at(first)
        if "approvers" in app.placement.override(first) and not self.is_approver(here, user):
            return (f"{self.mentions.user(user)} may not start {app.name} in {first}: its first stage there "
                    f"is approved by {self._names(here)}.")
        return None

    @staticmethod
    def _in_cluster(verb: str, app: AppSpec, release: Release | None) -> AppSpec:
        if release is None:
            return app
        gate = release.phase == Phase.WAITING and release.last and release.next_wave is not None
        if gate and verb == "approve" and release.next_wave is not None:
            return app.at(release.next_wave.cluster)
        return app.at(release.cluster)

    def _names(self, app: AppSpec, among: tuple[str, ...] | None = None) -> str:
        return ", ".join(self.mentions.group(a) if self.is_group(a) else self.mentions.user(a)
                         for a in (app.approvers if among is None else among))
