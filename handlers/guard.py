"""Before any listener: a signed request is carried out once (a replay of the same signed body
within Slack's 5-minute signature window is answered and changes nothing), and when Redis cannot
answer the person hears so at once instead of a dispatch failure. Bolt has verified the signature
and that the timestamp is within 5 minutes of now, either way; this also refuses a timestamp from
the future (beyond clock skew) and remembers each signature until its timestamp's window has
passed, so a request stamped ahead cannot be replayed after the guard forgot it. A click
without a user is malformed: 400."""
from __future__ import annotations

import json
import logging
import time

from slack_bolt import App, BoltRequest, BoltResponse

from bot.adapters.edgestate import StoreUnavailable

from .edge import Edge

log = logging.getLogger("graybot.guard")
SIGNATURE_WINDOW = 5 * 60 + 10          # Slack's timestamp tolerance, and a little more
FUTURE_SKEW = 5                         # seconds a request's timestamp may be ahead of our clock
UNREACHABLE = ":warning: graybot cannot reach its state store; nothing changed. Try again in a minute."


def unavailable(exc: StoreUnavailable) -> str:
    """What the person is told: a Redis that refuses writes is not one that cannot be reached."""
    if exc.refusing:
        return (f":warning: graybot's state store refuses writes ({exc.refusing}); nothing changed. "
                "Its operators are told by /healthz; try again once it is fixed.")
    return UNREACHABLE


def _ephemeral(text: str) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": text}),
                        headers={"content-type": ["application/json;charset=utf-8"]})


def _answer(edge: Edge, req: BoltRequest, text: str) -> BoltResponse:
    """A slash command shows the ack's text; a click's answer goes as an ephemeral message."""
    body = req.body or {}
    if body.get("type") == "block_actions":
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        if user and channel:
            edge.answer_later(channel, user, text)
        return BoltResponse(status=200, body="")
    return _ephemeral(text)


def _well_formed(req: BoltRequest) -> bool:
    """A click names who clicked: without `user.id` it is nobody's, and nothing can be checked."""
    body = req.body or {}
    if body.get("type") == "block_actions":
        return isinstance(body.get("user"), dict) and bool(body["user"].get("id"))
    return True


def register(app: App, edge: Edge) -> None:
    @app.middleware
    def once_and_reachable(req: BoltRequest, resp: BoltResponse, next) -> BoltResponse | None:  # noqa: A002
        signature = (req.headers.get("x-slack-signature") or [""])[0]
        if not signature:        # Socket Mode: no signature; the socket client owns delivery
            return next() if _well_formed(req) else BoltResponse(status=400, body="malformed request")
        stamp = int((req.headers.get("x-slack-request-timestamp") or ["0"])[0] or 0)
        if stamp > time.time() + FUTURE_SKEW:
            log.warning("refused a request stamped %ds in the future", stamp - time.time())
            return BoltResponse(status=401, body="invalid request")
        if not _well_formed(req):
            return BoltResponse(status=400, body="malformed request")
        try:                     # remembered until the signature window of its own timestamp has passed
            replayed = edge.inbox.seen_before(signature, max(1, int(stamp + SIGNATURE_WINDOW - time.time())))
        except StoreUnavailable as exc:
            log.warning("state store unavailable: %s", exc)
            return _answer(edge, req, unavailable(exc))
        if replayed:
            log.warning("replayed request refused (signature %s...)", signature[:16])
            return _answer(edge, req, ":no_entry: this exact request was already received; nothing changed.")
        return next()
