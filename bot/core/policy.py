"""Who may start, approve and stop which app, and where (apps.yaml channels/approvers).

Platform-neutral: the chat edge supplies how to look up a user group's members and how to
write a user, channel or group so people recognise it. A refusal is a sentence for the person;
None means allowed.
"""
from __future__ import annotations

from typing import Callable, Protocol

from bot.domain.apps import AppSpec
from bot.domain.model import Phase, Release, Stage
from bot.domain.names import GRAYBOT, SCHEDULER

APPROVER_VERBS = {"approve", "continue"}
NOT_PEOPLE = {GRAYBOT, SCHEDULER}
NO_STAGE = Stage("-", 0, 0, 0)        # weight 0: no `stages:` rule applies, the app's approvers do
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

    def stage_refusal(self, app: AppSpec, user: str, stage: Stage, requested_by: str | None,
                      final: bool = False) -> str | None:
        """Why `user` may not approve the move to `stage` of `app` (in one cluster), or None:
        the stage's own approvers (`stages: {W: [...]}`, for every stage at W or above; a wave's
        last stage counts as 100%, since finishing it retires the old version), else the app's;
        and never the requester where a second person is required."""
        who = self.mentions.user(user)
        group = app.rules.approvers_for(100 if final else stage.weight)
        if group and not self.is_approver(app, user, group):
            return (f"{who} may not approve {app.name}'s move to {stage.name}; that stage is approved by "
                    f"{self._names(app, group)}.")
        if not group and not self.is_approver(app, user):
            return f"{who} is not an approver of {app.name}; ask one of {self._names(app)}."
        if requested_by is not None and not app.requester_can_approve and user == requested_by:
            return f"{app.name} needs a second person: the requester ({who}) cannot approve their own release."
        return None

    def channel_refusal(self, app: AppSpec, channel: str) -> str | None:
        if app.channels and channel not in app.channels:
            where = ", ".join(self.mentions.channel(c) for c in app.channels)
            return f"{app.name} can be released only from {where}."
        return None

    def refusal(self, verb: str, app: AppSpec, user: str, channel: str, release: Release | None = None,
                check_channel: bool = True, full: bool = False) -> str | None:
        """Why `user` may not do `verb` on `app` from `channel`, or None. In several clusters the
        cluster acted on decides (its `approvers:` override): approving at a wave's end starts
        the next wave, so that wave's cluster decides. `full`: approve --full skips to the last
        stage, so the approvers of every stage it passes must include the person."""
        app = self._in_cluster(verb, app, release)
        if check_channel and (text := self.channel_refusal(app, channel)) is not None:
            return text
        who = self.mentions.user(user)
        if verb in APPROVER_VERBS:
            requester = release.requested_by if release else None
            ahead = self._approved_stages(verb, release, full) or [(NO_STAGE, False)]   # none: the app's approvers
            for stage, final in ahead:
                if (why := self.stage_refusal(app, user, stage, requester, final)):
                    return why
        if verb == "resume" and release is not None and (why := self._resume_refusal(app, user, release)):
            return why
        if verb in GUARD_VERBS and not self.is_approver(app, user) and \
                (release is None or user != release.requested_by):
            return f"{who} may not {verb} {app.name}: only its approvers or the requester can."
        return None

    @staticmethod
    def _approved_stages(verb: str, release: Release | None, full: bool) -> list[tuple[Stage, bool]]:
        """The stages an approval moves the release to, each with whether it is its wave's last:
        the next one, or (--full) all to the last; at a wave's end, the next wave's first stage."""
        if verb != "approve" or release is None:
            return []
        if release.last and release.next_wave is not None:
            stages = release.next_wave.stages
            return [(stages[0], len(stages) == 1)]
        ahead = range(release.stage + 1, len(release.stages) if full else min(release.stage + 2, len(release.stages)))
        return [(release.stages[i], i == len(release.stages) - 1) for i in ahead]

    def _resume_refusal(self, app: AppSpec, user: str, release: Release) -> str | None:
        """A pause by an approver (or an emergency stop-all) holds until an approver resumes."""
        if release.phase != Phase.PAUSED or release.last_action != "pause" or self.is_approver(app, user):
            return None
        by_stop_all = release.reason.startswith("stop-all")
        if by_stop_all or (release.last_actor not in NOT_PEOPLE and self.is_approver(app, release.last_actor)):
            what = "an emergency stop-all" if by_stop_all else f"an approver ({self.mentions.user(release.last_actor)})"
            return (f"{app.name} was paused by {what}; only its approvers can resume it: ask one of "
                    f"{self._names(app)}.")
        return None

    def start_refusal(self, app: AppSpec, user: str, channel: str, cluster: str | None,
                      waves: tuple[str, ...], check_channel: bool = True) -> str | None:
        """Before planning: anyone in the app's channels may start a release; where the first
        wave's cluster has its own `approvers:`, starting applies its first stage there, so only
        they may. (What the plan says is vetted by `planned_refusal`.)"""
        if check_channel and (text := self.channel_refusal(app, channel)) is not None:
            return text
        first = cluster or (waves or app.placement.waves or app.clusters)[0]
        here = app.at(first)
        if "approvers" in app.placement.override(first) and not self.is_approver(here, user):
            return (f"{self.mentions.user(user)} may not start {app.name} in {first}: its first stage there "
                    f"is approved by {self._names(here)}.")
        return None

    def planned_refusal(self, app: AppSpec, user: str, release: Release, timed: bool) -> str | None:
        """Once planned: a first stage that needs approval (all traffic, a strategy of one stage,
        or a weight listed in `stages`) needs the same people as approving it; and a timer
        (`--auto`, `--every`, `--at`, `--wave-every`) approves in the starter's name, so the
        starter must be allowed to approve every stage and wave it would move."""
        first = app.at(release.waves[0].cluster)
        stages0 = release.waves[0].stages
        if stages0[0].weight >= 100 or len(stages0) == 1 or first.rules.approvers_for(stages0[0].weight):
            if (why := self._alone_refusal(first, user, stages0[0], len(stages0) == 1, "starting it applies")):
                return why
        if not timed:
            return None
        for index, wave in enumerate(release.waves):
            here = app.at(wave.cluster)
            for i in range(0 if index else 1, len(wave.stages)):
                why = self._alone_refusal(here, user, wave.stages[i], i == len(wave.stages) - 1,
                                          "a timer would approve in your name")
                if why:
                    return why
        return None

    def _alone_refusal(self, app: AppSpec, user: str, stage: Stage, final: bool, why: str) -> str | None:
        """One person's command standing in for the approval of `stage`."""
        if (refused := self.stage_refusal(app, user, stage, requested_by=None, final=final)) is not None:
            return f"{refused} ({why} {stage.name})"
        if app.rules.approvals > 1:
            return (f"{app.name} needs {app.rules.approvals} people to approve {stage.name}, so one command "
                    f"cannot ({why} it): start with a smaller first step and without timers, and let "
                    "the approvers approve each stage")
        if not app.requester_can_approve:
            return (f"{app.name} needs a second person to approve {stage.name}, and the requester cannot ({why} "
                    "it): start with a smaller first step and without timers")
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
