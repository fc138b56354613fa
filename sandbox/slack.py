"""A loopback fake of the Slack Web API, and builders of correctly signed inbound requests.

It records every call, keeps channels' messages (threads, edits, ephemerals) and can answer
429 (with Retry-After) or 500 on demand, so the bot's retry handling meets the real shapes.
Point the bot at it with SLACK_API_URL=http://127.0.0.1:PORT/api/.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .slack_files import SlackFiles


@dataclass
class Call:
    method: str
    args: dict
    at: float
    status: int = 200


@dataclass
class Failure:
    status: int
    retry_after: int = 0
    times: int = 1


@dataclass
class SlackState:
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[dict]] = field(default_factory=dict)   # channel -> messages
    ephemerals: list[dict] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)      # S... -> [U...]
    homes: dict[str, dict] = field(default_factory=dict)            # U... -> the Home tab view published
    views: dict[str, dict] = field(default_factory=dict)            # V... -> a modal as last opened or updated
    failures: dict[str, list[Failure]] = field(default_factory=dict)


class FakeSlack:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, socket_mode: bool = False):
        self.state = SlackState()
        self.uploads = SlackFiles()
        self.socket = None
        if socket_mode:      # Slack's Socket Mode side (sandbox/slack_socket.py), on demand
            from .slack_socket import SocketModeServer
            self.socket = SocketModeServer(host)
        self.lock = threading.Condition()
        self._ts = itertools.count(1)
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def start(self) -> "FakeSlack":
        threading.Thread(target=self.server.serve_forever, name="fake-slack", daemon=True).start()
        if self.socket is not None:
            self.socket.start()
        return self

    def stop(self) -> None:
        if self.socket is not None:
            self.socket.stop()
        self.server.shutdown()
        self.server.server_close()

    # -- test controls ------------------------------------------------------------------
    def fail(self, method: str, status: int = 429, retry_after: int = 1, times: int = 1) -> None:
        with self.lock:
            self.state.failures.setdefault(method, []).append(Failure(status, retry_after, times))

    def calls(self, method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.state.calls if method in (None, c.method)]

    def channel(self, channel: str) -> list[dict]:
        with self.lock:
            return [dict(m) for m in self.state.messages.get(channel, [])]

    def thread(self, channel: str, ts: str) -> list[dict]:
        return [m for m in self.channel(channel) if m.get("thread_ts") == ts and m["ts"] != ts]

    def ephemerals(self, user: str | None = None) -> list[dict]:
        with self.lock:
            return [dict(e) for e in self.state.ephemerals if user in (None, e["user"])]

    def wait_for(self, predicate, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        with self.lock:
            while not (value := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("fake Slack: timed out waiting")
                self.lock.wait(min(left, 0.2))
            return value

    # -- the Web API --------------------------------------------------------------------
    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def handle(self, method: str, args: dict) -> tuple[int, dict, dict]:
        with self.lock:
            queue = self.state.failures.get(method) or []
            if queue:
                failure = queue[0]
                failure.times -= 1
                if failure.times <= 0:
                    queue.pop(0)
                self.state.calls.append(Call(method, args, time.time(), failure.status))
                headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
                error = "ratelimited" if failure.status == 429 else "internal_error"
                return failure.status, {"ok": False, "error": error}, headers
            self.state.calls.append(Call(method, args, time.time()))
            body = self._dispatch(method, args)
            self.lock.notify_all()
            return 200, body, {}

    def _dispatch(self, method: str, args: dict) -> dict:
        if method == "auth.test":
            return {"ok": True, "url": "https://sandbox.slack.com/", "team": "sandbox", "user": "graybot",
                    "team_id": "T0SANDBOX", "user_id": "U0GRAYBOT", "bot_id": "B0GRAYBOT"}
        if method == "chat.postMessage":
            channel = args.get("channel", "")
            msg = {"ts": self._next_ts(), "channel": channel, "text": args.get("text", ""),
                   "blocks": _blocks(args.get("blocks")), "user": "U0GRAYBOT"}
            if args.get("thread_ts"):
                msg["thread_ts"] = args["thread_ts"]
            self.state.messages.setdefault(channel, []).append(msg)
            return {"ok": True, "channel": channel, "ts": msg["ts"], "message": msg}
        if method == "chat.update":
            for msg in self.state.messages.get(args.get("channel", ""), []):
                if msg["ts"] == args.get("ts"):
                    msg.update(text=args.get("text", msg["text"]), blocks=_blocks(args.get("blocks")),
                               edited=msg.get("edited", 0) + 1)
                    return {"ok": True, "channel": msg["channel"], "ts": msg["ts"], "text": msg["text"],
                            "message": msg}
            return {"ok": False, "error": "message_not_found"}
        if method == "chat.postEphemeral":
            entry = {"channel": args.get("channel"), "user": args.get("user"), "text": args.get("text", ""),
                     "blocks": _blocks(args.get("blocks")), "ts": self._next_ts()}
            self.state.ephemerals.append(entry)
            return {"ok": True, "message_ts": entry["ts"]}
        if method == "usergroups.users.list":
            users = self.state.groups.get(args.get("usergroup", ""))
            if users is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(users)}
        if method == "apps.connections.open":
            if self.socket is None:
                return {"ok": False, "error": "socket_mode_not_enabled"}
            return self.socket.open_url(str(args.get("token", "")))
        if method == "files.getUploadURLExternal":
            return self.uploads.upload_url(self.url.removesuffix("api/"), args)
        if method == "files.completeUploadExternal":
            answer, shared = self.uploads.complete(args)
            if shared and args.get("channel_id"):
                msg = {"ts": self._next_ts(), "channel": args["channel_id"], "text": args.get("initial_comment", ""),
                       "blocks": [], "user": "U0GRAYBOT", "files": shared}
                if args.get("thread_ts"):
                    msg["thread_ts"] = args["thread_ts"]
                self.state.messages.setdefault(args["channel_id"], []).append(msg)
            return answer
        if method == "views.publish":
            return self._publish(args)
        if method in ("views.open", "views.update"):
            view = _blocks(args.get("view")) if isinstance(args.get("view"), str) else args.get("view")
            view_id = args.get("view_id") or "V" + self._next_ts().replace(".", "")
            if not isinstance(view, dict) or len(view.get("blocks") or []) > 100:
                return {"ok": False, "error": "invalid_arguments"}
            if method == "views.update" and view_id not in self.state.views:
                return {"ok": False, "error": "not_found"}
            self.state.views[view_id] = dict(view, id=view_id)
            return {"ok": True, "view": self.state.views[view_id]}
        return {"ok": False, "error": "unknown_method"}


    def _publish(self, args: dict) -> dict:
        """views.publish as Slack checks it: a `home` view of at most 100 blocks, for one user;
        the user's Home tab keeps its view id across publishes."""
        view = _blocks(args.get("view")) if isinstance(args.get("view"), str) else args.get("view")
        user = str(args.get("user_id") or "")
        if not user or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if view.get("type") != "home" or len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] must be a home view of at most 100 blocks"]}}
        old = self.state.homes.get(user) or {}
        published = dict(view, id=old.get("id") or "V" + self._next_ts().replace(".", ""), hash=self._next_ts(),
                         team_id="T0SANDBOX", published=old.get("published", 0) + 1)
        self.state.homes[user] = published
        return {"ok": True, "view": published}

    def home(self, user: str) -> dict | None:
        with self.lock:
            return self.state.homes.get(user)


def _blocks(raw) -> list:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return []
    return raw or []


def _handler(fake: FakeSlack):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _args(self) -> tuple[str, dict]:
            url = urlsplit(self.path)
            method = url.path.rsplit("/", 1)[-1]
            args = dict(parse_qsl(url.query))
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if raw:
                if "json" in (self.headers.get("Content-Type") or ""):
                    args.update(json.loads(raw))
                else:
                    args.update(dict(parse_qsl(raw.decode())))
            return method, args

        def _upload(self, file_id: str) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ok = fake.uploads.receive(file_id, data)
            body = (f"OK - {len(data)}" if ok else "not found").encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _reply(self):
            if self.command == "POST" and urlsplit(self.path).path.startswith("/upload/"):
                return self._upload(urlsplit(self.path).path.rsplit("/", 1)[-1])
            method, args = self._args()
            auth = self.headers.get("Authorization") or ""
            if auth.startswith("Bearer "):
                args.setdefault("token", auth[len("Bearer "):])
            if not auth.startswith("Bearer ") and "token" not in args:
                code, body, headers = 200, {"ok": False, "error": "not_authed"}, {}
            else:
                code, body, headers = fake.handle(method, args)
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply
    return Handler


# the signed inbound requests (what Slack sends the bot) live in slack_requests.py
from .slack_requests import (app_home_opened_body, block_action_body, block_action_payload,  # noqa: E402,F401
                             shortcut_body, signature_headers, slash_command_body, slash_command_payload,
                             view_action_body, view_submission_body)
