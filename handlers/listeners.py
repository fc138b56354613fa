"""Every request listener of the Slack edge on one Bolt app, in one order for both processes that
answer Slack (the edge process, and the whole bot in one process)."""
from __future__ import annotations

from slack_bolt import App

from bot.core.policy import Policy

from . import actions, commands, guard, home, start_form
from .edge import Edge


def register(app: App, edge: Edge, policy: Policy) -> None:
    """`policy`: the one that picks the apps the start form offers a person."""
    guard.register(app, edge)
    # the most frequent first: Bolt tries each listener's matchers in turn, building their
    # arguments by inspection each time (a click went through four before its own)
    commands.register(app, edge, policy)
    actions.register(app, edge)
    start_form.register(app, edge, policy)
    home.register(app, edge)
