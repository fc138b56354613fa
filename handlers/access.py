"""Who may run, approve and roll back which app, and where (apps.yaml channels/approvers).

Approvers are user IDs (U..., W...) or user-group IDs (S...); groups are resolved through
usergroups.users.list and cached. A refusal is a sentence for the person; None means allowed.
"""
from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.model import Release
from bot.settings import AppSpec

log = logging.getLogger("graybot.access")
APPROVER_VERBS = {"approve", "continue"}
GUARD_VERBS = {"pause", "resume", "rollback"}     # approvers, or the release's requester


class Access:
    def __init__(self, client: WebClient, ttl: float = 300):
        self.client, self.ttl = client, ttl
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def group_members(self, group: str) -> frozenset[str]:
        with self._lock:
            cached = self._groups.get(group)
            if cached and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
        try:
            users = frozenset(self.client.usergroups_users_list(usergroup=group).get("users") or [])
        except SlackApiError as err:
            log.warning("cannot resolve user group %s: %s", group, err.response.get("error"))
            users = cached[1] if cached else frozenset()
        with self._lock:
            self._groups[group] = (time.monotonic(), users)
        return users

    def is_approver(self, app: AppSpec, user: str) -> bool:
        if not app.approvers:
            return True
        return user in app.approvers or any(
            user in self.group_members(g) for g in app.approvers if g.startswith("S"))

    @staticmethod
    def channel_refusal(app: AppSpec, channel: str) -> str | None:
        if app.channels and channel not in app.channels:
            where = ", ".join(f"<#{c}>" for c in app.channels)
            return f"{app.name} can be released only from {where}."
        return None

    def refusal(self, verb: str, app: AppSpec, user: str, channel: str,
                release: Release | None = None) -> str | None:
        """Why `user` may not do `verb` on `app` from `channel`, or None."""
        if (text := self.channel_refusal(app, channel)) is not None:
            return text
        if verb in APPROVER_VERBS:
            if not self.is_approver(app, user):
                return f"<@{user}> is not an approver of {app.name}; ask one of {self._names(app)}."
            if release is not None and not app.requester_can_approve and user == release.requested_by:
                return (f"{app.name} needs a second person: the requester (<@{user}>) cannot approve "
                        "their own release.")
        if verb in GUARD_VERBS and not self.is_approver(app, user) and \
                (release is None or user != release.requested_by):
            return f"<@{user}> may not {verb} {app.name}: only its approvers or the requester can."
        return None

    @staticmethod
    def _names(app: AppSpec) -> str:
        return ", ".join(f"<!subteam^{a}>" if a.startswith("S") else f"<@{a}>" for a in app.approvers)
