"""The Slack side of who-may-do-what (the rules are bot.core.policy): user-group members through
usergroups.users.list, cached, and how Slack writes users, channels and groups."""
from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.policy import Policy

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
