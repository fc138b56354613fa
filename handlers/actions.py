"""Stage buttons. Each carries release id, stage and state version, signed by the bot, and is
honoured only on that release's own live message. Approvals need the exact version (a click on
a spent button changes nothing and says who acted and when); Pause and Rollback act on the
release as it is now, so a person's stop never loses a race against the bot's bookkeeping."""
from __future__ import annotations

import logging
import re
import time

from slack_bolt import Ack, App

from bot.adapters import telemetry
from bot.adapters.edgestate import StoreUnavailable
from bot.core.engine import Refused
from bot.domain.model import Event, Phase

from .blocks import parse_button_value
from .edge import Edge
from .guard import UNREACHABLE

log = logging.getLogger("graybot.actions")
EVENTS = {"approve": Event.APPROVE, "pause": Event.PAUSE, "resume": Event.RESUME,
          "rollback": Event.ROLLBACK, "continue": Event.OVERRIDE}
STOPS = {"pause", "rollback"}      # act on the live release whatever version the button showed
NOT_OURS = ":no_entry: this button is not one of graybot's; nothing changed."


def register(app: App, edge: Edge) -> None:
    edge.handlers["action"] = carry_out

    @app.action(re.compile(r"^(approve|pause|resume|rollback|continue)$"))
    def on_button(ack: Ack, body: dict, action: dict) -> None:
        started = time.perf_counter()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or body["container"].get("channel_id", "")
        message_ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts", "")
        request = {"kind": "action", "what": f"{action['action_id']} button", "user": user,
                   "channel": channel, "action_id": action["action_id"], "value": action.get("value", ""),
                   "message_ts": message_ts}
        try:
            entry = edge.accept(request)
        except StoreUnavailable:
            ack()
            edge.workers.submit(edge.ephemeral, channel, user, UNREACHABLE)
            return
        ack()
        telemetry.ACK_SECONDS.labels("action").observe(time.perf_counter() - started)
        edge.run_later(entry, request)


def carry_out(edge: Edge, request: dict, replayed: bool) -> str | None:
    return click(edge, request["action_id"], request["value"], request["user"], request["channel"],
                 request.get("message_ts", ""))


def click(edge: Edge, action_id: str, value: str, user: str, channel: str, message_ts: str) -> str | None:
    """What to tell the person, or None when the live message says it all."""
    try:
        release_id, stage, version = parse_button_value(value, edge.button_key)
    except ValueError as err:
        log.warning("refused a %s click by %s: %s", action_id, user, err)
        return NOT_OURS
    release = edge.store.get(release_id)
    if release is None:
        return ":no_entry: that release no longer exists; nothing changed."
    if edge.state.message(release.id) != (channel, message_ts):
        log.warning("refused a %s click by %s: %s's button on another message", action_id, user, release.id)
        edge.store.record(release.id, user, "refused", f"{action_id}: button not on this release's message")
        return f":no_entry: that button does not belong to {release.app}'s live message; nothing changed."
    app = edge.registry.get(release.app)
    refusal = edge.policy.refusal(action_id, app, user, channel, release) if app else "unknown app"
    if refusal is not None:
        edge.store.record(release.id, user, "refused", f"{action_id}: {refusal}")
        return f":no_entry: {refusal}"
    expected = None if action_id in STOPS and release.phase.live else version
    if action_id == "approve" and release.last_action == Event.VOTE.value and release.stage == stage \
            and release.phase == Phase.WAITING:
        expected = None     # only votes came since this button was drawn: one more vote, same stage
    try:
        edge.engine.apply(release.id, EVENTS[action_id], user, expected_version=expected)
    except Refused as err:
        edge.store.record(release.id, user, "refused", f"{action_id}: {err}")
        return f":no_entry: {err}"
    edge.wake()
    return None
