"""Stage buttons. Each carries release id, stage and state version: a click on a spent or old
button changes nothing and says who acted and when."""
from __future__ import annotations

import re
import time

from slack_bolt import Ack, App

from bot.adapters import telemetry
from bot.core.engine import Refused
from bot.domain.model import Event

from .blocks import parse_button_value
from .edge import Edge

EVENTS = {"approve": Event.APPROVE, "pause": Event.PAUSE, "resume": Event.RESUME,
          "rollback": Event.ROLLBACK, "continue": Event.OVERRIDE}


def register(app: App, edge: Edge) -> None:
    @app.action(re.compile(r"^(approve|pause|resume|rollback|continue)$"))
    def on_button(ack: Ack, body: dict, action: dict) -> None:
        started = time.perf_counter()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or body["container"].get("channel_id", "")
        request = {"what": f"{action['action_id']} button", "user": user, "channel": channel}
        entry = edge.state.inbox_add(request)
        ack()
        telemetry.ACK_SECONDS.labels("action").observe(time.perf_counter() - started)
        edge.run_later(entry, request,
                       lambda: click(edge, action["action_id"], action.get("value", ""), user, channel))


def click(edge: Edge, action_id: str, value: str, user: str, channel: str) -> None:
    try:
        release_id, _stage, version = parse_button_value(value)
    except (ValueError, KeyError, TypeError):
        return edge.ephemeral(channel, user, ":no_entry: this button is not one of graybot's; nothing changed.")
    release = edge.store.get(release_id)
    if release is None:
        return edge.ephemeral(channel, user, ":no_entry: that release no longer exists; nothing changed.")
    app = edge.registry.get(release.app)
    refusal = edge.policy.refusal(action_id, app, user, channel, release) if app else "unknown app"
    if refusal is not None:
        edge.store.record(release.id, user, "refused", f"{action_id}: {refusal}")
        return edge.ephemeral(channel, user, f":no_entry: {refusal}")
    try:
        edge.engine.apply(release.id, EVENTS[action_id], user, expected_version=version)
    except Refused as err:
        edge.store.record(release.id, user, "refused", f"{action_id}: {err}")
        return edge.ephemeral(channel, user, f":no_entry: {err}")
    edge.wake()
