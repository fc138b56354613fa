"""Stage buttons: Slack's block_actions -> a typed request in the inbox, acked at once. The
button's signed value, the policy and the engine are core's (bot/core/desk.py, buttons.py)."""
from __future__ import annotations

import time

from slack_bolt import Ack, App

from bot.adapters import telemetry
from bot.adapters.edgestate import Replayed, StoreUnavailable
from bot.core.requests import Request, Said, Tone

from .edge import Edge
from .guard import BUTTONS, FIRST_SIGHT, REPLAYED, unavailable


def register(app: App, edge: Edge) -> None:
    @app.action(BUTTONS)
    def on_button(ack: Ack, body: dict, action: dict, context: dict) -> None:
        started = time.perf_counter()
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts", "")
        if container.get("type") == "view":          # the Home tab: the view, not a message, was clicked
            channel, message_ts = "", f"view:{container.get('view_id', '')}"
        request = Request("action", f"{action['action_id']} button", body["user"]["id"], channel,
                          action=action["action_id"], value=action.get("value", ""), message=message_ts)
        try:
            entry = edge.inbox.accept(request, once=context.get(FIRST_SIGHT))
        except StoreUnavailable as exc:
            ack()
            edge.inbox.tell_later(request, Said(unavailable(exc).removeprefix(":warning: "), Tone.WARNING))
            return
        except Replayed:
            ack()
            edge.inbox.tell_later(request, Said(REPLAYED.removeprefix(":no_entry: "), Tone.REFUSED))
            return
        ack()
        telemetry.ACK_SECONDS.labels("action").observe(time.perf_counter() - started)
        edge.inbox.run_later(entry, request)

