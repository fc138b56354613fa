"""Socket Mode: Bolt's own SocketModeHandler (slack_sdk's built-in WebSocket client, which
reconnects on `disconnect` and on a lost connection), with one addition Slack's delivery needs:
an envelope Slack sends again (its ack was lost with the connection, or came late) is acked and
not carried out twice. HTTP mode gets the same guarantee from the signature (handlers/guard.py)."""
from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.adapters.edgestate import EdgeState, StoreUnavailable

log = logging.getLogger("graybot.socket")
ENVELOPE_WINDOW = 60 * 60          # Slack retries an envelope for minutes, not hours


class OnceSocketModeHandler(SocketModeHandler):
    def __init__(self, app: App, app_token: str, state: EdgeState, **kwargs):
        super().__init__(app, app_token, **kwargs)
        self.state = state

    def handle(self, client, req: SocketModeRequest) -> None:  # type: ignore[override]
        try:
            first = self.state.first_sight(f"envelope:{req.envelope_id}", ENVELOPE_WINDOW)
        except StoreUnavailable as exc:   # let Bolt answer; the guard tells the person
            log.warning("state store unreachable for envelope %s: %s", req.envelope_id, exc)
            first = True
        if not first:
            log.info("envelope %s delivered again (retry %s); acked, not carried out twice",
                     req.envelope_id, req.retry_attempt)
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        super().handle(client, req)


def connect(app: App, app_token: str, state: EdgeState) -> OnceSocketModeHandler:
    """Open the connection (apps.connections.open, then the WebSocket) and return the handler."""
    handler = OnceSocketModeHandler(app, app_token, state)
    handler.connect()
    return handler
