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
import re
import time
from typing import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.adapters.edgestate import FirstSight, StoreUnavailable

from .edge import Edge

log = logging.getLogger("graybot.guard")
SIGNATURE_WINDOW = 5 * 60 + 10          # Slack's timestamp tolerance, and a little more
FUTURE_SKEW = 5                         # seconds a request's timestamp may be ahead of our clock
FIRST_SIGHT = "first_sight"             # the context key of a check left to the listener's inbox write
REPLAYED = ":no_entry: this exact request was already received; nothing changed."
BUTTONS = re.compile(r"^(approve|pause|resume|rollback|continue)$")   # the stage buttons (handlers/actions.py)
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


def written_by_listener(req: BoltRequest) -> bool:
    """Requests whose listener does nothing but write the inbox entry (a `/release` with words, a
    stage button): their replay check rides on that write, one Redis round trip instead of two.
    A replay that fails to parse is answered with the same usage text and writes nothing either."""
    body = req.body or {}
    if body.get("command") == "/release":
        return bool((body.get("text") or "").strip())
    if body.get("type") == "block_actions":
        return all(BUTTONS.match(a.get("action_id", "")) for a in body.get("actions") or [{}])
    return False


class OnceAndReachable(Middleware):
    """The guard, as a Middleware of its own: Bolt calls it directly (a decorated function would
    have its arguments built by inspection on every request, on the ack path)."""

    def __init__(self, edge: Edge):
        self.edge = edge

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002  (Bolt's name)
        signature = (req.headers.get("x-slack-signature") or [""])[0]
        if not signature:        # Socket Mode: no signature; the socket client owns delivery
            return next() if _well_formed(req) else BoltResponse(status=400, body="malformed request")
        stamp = int((req.headers.get("x-slack-request-timestamp") or ["0"])[0] or 0)
        if stamp > time.time() + FUTURE_SKEW:
            log.warning("refused a request stamped %ds in the future", stamp - time.time())
            return BoltResponse(status=401, body="invalid request")
        if not _well_formed(req):
            return BoltResponse(status=400, body="malformed request")
        window = max(1, int(stamp + SIGNATURE_WINDOW - time.time()))  # until its timestamp's window has passed
        if written_by_listener(req):
            req.context[FIRST_SIGHT] = FirstSight(signature, window)
            return next()
        try:
            replayed = self.edge.inbox.seen_before(signature, window)
        except StoreUnavailable as exc:
            log.warning("state store unavailable: %s", exc)
            return _answer(self.edge, req, unavailable(exc))
        if replayed:
            log.warning("replayed request refused (signature %s...)", signature[:16])
            return _answer(self.edge, req, REPLAYED)
        return next()


def register(app: App, edge: Edge) -> None:
    app.use(OnceAndReachable(edge))
