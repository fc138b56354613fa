"""The Slack side of who-may-do-what (the rules are bot.core.policy): user-group members through
usergroups.users.list, cached, and how Slack writes users, channels and groups."""
from __future__ import annotations

import logging
import re
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters import telemetry
from bot.core.policy import Policy
from bot.domain.apps import Registry

log = logging.getLogger("graybot.access")


class SlackMentions:
    def user(self, user_id: str) -> str:
        return f"<@{user_id}>"

    def channel(self, channel_id: str) -> str:
        return f"<#{channel_id}>"

    def group(self, group_id: str) -> str:
        return f"<!subteam^{group_id}>"


class SlackGroups:
    """Members of a Slack user group (S...), cached for `ttl` seconds; on an API error the last
    known members (or nobody) so a Slack hiccup never widens access."""

    def __init__(self, client: WebClient, ttl: float = 300):
        self.client, self.ttl = client, ttl
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group: str) -> frozenset[str]:
        with self._lock:
            cached = self._groups.get(group)
            if cached and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
        try:
            users = frozenset(self.client.usergroups_users_list(usergroup=group).get("users") or [])
        except SlackApiError as err:
            telemetry.CHAT_ERRORS.labels(call="usergroup").inc()
            log.warning("cannot resolve user group %s: %s", group, err.response.get("error"))
            users = cached[1] if cached else frozenset()
        with self._lock:
            self._groups[group] = (time.monotonic(), users)
        return users


def slack_policy(client: WebClient) -> Policy:
    return Policy(SlackGroups(client).members, SlackMentions(), is_group=is_slack_group)


def is_slack_group(approver: str) -> bool:
    """Slack user-group IDs start with S (users with U or W)."""
    return approver.startswith("S")


SLACK_USER_OR_GROUP = re.compile(r"^[UWS][A-Z0-9]{2,}$")
SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def slack_id_problems(registry: Registry) -> list[str]:
    """apps.yaml names people, groups and channels by Slack ID (a user U..., a group S..., a
    channel C...): a name like `alice` would never match anyone, so it is a config mistake
    (`cli:alice` names someone acting from a terminal)."""
    problems = []
    for app in registry.values():
        where = f"apps.{app.name}"
        named = [(f"{where}.channels", app.channels, SLACK_CHANNEL, "channel IDs (C...)"),
                 (f"{where}.approvers", app.approvers, SLACK_USER_OR_GROUP, "user or user-group IDs (U..., S...)")]
        named += [(f"{where}.stages.{weight}", ids, SLACK_USER_OR_GROUP, "user or user-group IDs (U..., S...)")
                  for weight, ids in app.rules.stage_approvers]
        named += [(f"{where}.clusters.{cluster}.approvers", app.at(cluster).approvers, SLACK_USER_OR_GROUP,
                   "user or user-group IDs (U..., S...)")
                  for cluster in app.clusters if "approvers" in app.placement.override(cluster)]
        for spot, ids, shape, what in named:
            if bad := [i for i in ids if not shape.match(i) and not i.startswith("cli:")]:
                problems.append(f"{spot}: must be a list of Slack {what}, not {', '.join(map(repr, bad))}")
    return problems
