"""What Slack sends the bot, signed as Slack signs it: slash commands, button clicks on messages
and on views (the Home tab), modal submissions and Events API callbacks (tests and the playground
console build them here)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

def signature_headers(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_command_body(text: str, user: str, channel: str = "C0RELEASE", command: str = "/release") -> str:
    return urlencode(slash_command_payload(text, user, channel, command))


def slash_command_payload(text: str, user: str, channel: str = "C0RELEASE", command: str = "/release") -> dict:
    """The fields of a slash command: a form body over HTTP, an envelope's payload over a socket."""
    return {"token": "legacy", "team_id": "T0SANDBOX", "team_domain": "sandbox",
            "channel_id": channel, "channel_name": "releases", "user_id": user,
            "user_name": user.lower(), "command": command, "text": text,
            "api_app_id": "A0GRAYBOT", "response_url": "http://127.0.0.1:9/never-used",
            "trigger_id": f"trigger-{time.time()}"}


def app_home_opened_body(user: str) -> str:
    """The Events API callback Slack sends when a person opens the app's Home tab (JSON body)."""
    return json.dumps({"token": "legacy", "team_id": "T0SANDBOX", "api_app_id": "A0GRAYBOT", "type": "event_callback",
                       "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": user, "channel": "D0GRAYBOT", "tab": "home",
                                 "event_ts": f"{time.time():.6f}"}})


def shortcut_body(user: str, callback_id: str) -> str:
    """A global shortcut chosen (from the search bar or the shortcuts menu): no channel."""
    return urlencode({"payload": json.dumps({
        "type": "shortcut", "callback_id": callback_id, "trigger_id": f"trigger-{time.time()}",
        "action_ts": f"{time.time():.6f}", "team": {"id": "T0SANDBOX", "domain": "sandbox"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0SANDBOX"}, "token": "legacy"})})


def view_submission_body(user: str, view: dict, values: dict[str, str]) -> str:
    """A modal submitted: `values` block id -> the typed text or the chosen option's value."""
    state = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element, given = block["element"], values.get(block["block_id"])
        if element["type"] == "static_select":
            chosen = {"selected_option": {"text": {"type": "plain_text", "text": given}, "value": given}} if given \
                else {"selected_option": None}
        else:
            chosen = {"value": given}
        state[block["block_id"]] = {element["action_id"]: dict(type=element["type"], **chosen)}
    payload = {"type": "view_submission", "team": {"id": "T0SANDBOX", "domain": "sandbox"},
               "user": {"id": user, "username": user.lower(), "team_id": "T0SANDBOX"}, "api_app_id": "A0GRAYBOT",
               "token": "legacy", "trigger_id": f"trigger-{time.time()}",
               "view": dict(view, state={"values": state}, team_id="T0SANDBOX", type="modal")}
    return urlencode({"payload": json.dumps(payload)})


def view_action_body(action_id: str, value: str, user: str, view_id: str, block_id: str = "home") -> str:
    """A button clicked on a view (the Home tab): its container is the view, there is no channel."""
    payload = block_action_payload(action_id, value, user, "", "", block_id)
    for key in ("channel", "message"):
        payload.pop(key)
    payload["container"] = {"type": "view", "view_id": view_id}
    payload["view"] = {"id": view_id, "type": "home", "team_id": "T0SANDBOX"}
    return urlencode({"payload": json.dumps(payload)})


def block_action_body(action_id: str, value: str, user: str, channel: str, message_ts: str,
                      block_id: str = "release_actions") -> str:
    return urlencode({"payload": json.dumps(block_action_payload(action_id, value, user, channel, message_ts,
                                                                 block_id))})


def block_action_payload(action_id: str, value: str, user: str, channel: str, message_ts: str,
                         block_id: str = "release_actions") -> dict:
    return {"type": "block_actions", "team": {"id": "T0SANDBOX", "domain": "sandbox"},
            "user": {"id": user, "username": user.lower(), "team_id": "T0SANDBOX"},
            "api_app_id": "A0GRAYBOT", "token": "legacy", "trigger_id": f"trigger-{time.time()}",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                          "is_ephemeral": False},
            "channel": {"id": channel, "name": "releases"},
            "message": {"ts": message_ts, "type": "message"},
            "response_url": "http://127.0.0.1:9/never-used",
            "actions": [{"action_id": action_id, "block_id": block_id, "value": value,
                         "type": "button", "action_ts": f"{time.time():.6f}"}]}
