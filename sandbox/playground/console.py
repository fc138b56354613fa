"""The playground's web console: static page + a small JSON API. The page acts as a chosen demo
user; this server signs each slash command and button click with the signing secret and posts
it to the bot's real /slack/events endpoint, exactly as Slack would; in Socket Mode it sends
them as envelopes over the fake Slack's WebSocket and shows the reply the ack carries."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ..cluster import Sandbox
from ..slack import FakeSlack
from ..slack_requests import (app_home_opened_body, block_action_body, block_action_payload, signature_headers,
                              slash_command_body, slash_command_payload, view_action_body, view_submission_body)

STATIC = Path(__file__).parent / "static"
CHANNEL = "C0PLAYGRND"
USERS = [{"id": "U0ALICE", "name": "alice", "role": "approver"},
         {"id": "U0BOB", "name": "bob", "role": "approver"},
         {"id": "U0EVE", "name": "eve", "role": "not an approver of user"}]
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css",
         ".png": "image/png"}


class Console:
    def __init__(self, clusters: dict[str, Sandbox], slack: FakeSlack, bot_url: str, secret: str):
        """`clusters`: name -> sandbox cluster, in the order the cluster view shows them."""
        self.clusters, self.slack, self.bot_url, self.secret = clusters, slack, bot_url, secret

    # -- to the bot, signed ---------------------------------------------------------------
    def _post(self, body: str) -> dict:
        headers = dict(signature_headers(self.secret, body), **{"Content-Type": "application/x-www-form-urlencoded"})
        req = urllib.request.Request(self.bot_url + "/slack/events", data=body.encode(), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                raw = resp.read().decode()
                return {"status": resp.status, "text": json.loads(raw).get("text", "") if raw else ""}
        except urllib.error.HTTPError as err:
            return {"status": err.code, "text": err.read().decode()}

    def _envelope(self, kind: str, payload: dict) -> dict:
        try:
            envelope = self.slack.socket.wait_ack(self.slack.socket.send(kind, payload), timeout=3)
        except AssertionError as err:            # no ack within Slack's 3 s
            return {"status": 504, "text": str(err)}
        return {"status": 200, "text": (envelope.ack_payload or {}).get("text", "")}

    def command(self, user: str, text: str) -> dict:
        """`/release ...` (an empty text opens the start form)."""
        text = text.strip()
        if text.startswith("/release"):
            text = text[len("/release"):].strip()
        if self.slack.socket is not None:
            return self._envelope("slash_commands", slash_command_payload(text, user, CHANNEL))
        return self._post(slash_command_body(text, user, CHANNEL))

    def action(self, user: str, action_id: str, value: str, ts: str) -> dict:
        if self.slack.socket is not None:
            return self._envelope("interactive", block_action_payload(action_id, value, user, CHANNEL, ts))
        return self._post(block_action_body(action_id, value, user, CHANNEL, ts))

    # -- the Home tab, the start form, files (HTTP mode) --------------------------------------
    def _post_json(self, body: str, content_type: str = "application/x-www-form-urlencoded") -> dict:
        headers = dict(signature_headers(self.secret, body), **{"Content-Type": content_type})
        req = urllib.request.Request(self.bot_url + "/slack/events", data=body.encode(), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                raw = resp.read().decode()
                return dict(json.loads(raw) if raw.startswith("{") else {}, status=resp.status)
        except urllib.error.HTTPError as err:
            return {"status": err.code, "text": err.read().decode()}

    def home(self, user: str, opened: bool) -> dict:
        """`opened`: the person just opened the Home tab (Slack sends app_home_opened)."""
        if opened and self.slack.socket is None:
            self._post_json(app_home_opened_body(user), "application/json")
        return {"view": self.slack.home(user)}

    def home_action(self, user: str, action_id: str, value: str, view_id: str) -> dict:
        return self._post_json(view_action_body(action_id, value, user, view_id))

    def modal(self) -> dict:
        with self.slack.lock:
            views = list(self.slack.state.views.values())
        return {"view": views[-1] if views else None}

    def submit(self, user: str, view_id: str, values: dict) -> dict:
        with self.slack.lock:
            view = self.slack.state.views.get(view_id)
        if view is None:
            return {"status": 404, "text": "no such view"}
        return self._post_json(view_submission_body(user, view, values))

    # -- views ----------------------------------------------------------------------------
    def messages(self, user: str) -> dict:
        msgs = self.slack.channel(CHANNEL)
        roots = [dict(m, replies=[r for r in msgs if r.get("thread_ts") == m["ts"] and r["ts"] != m["ts"]])
                 for m in msgs if "thread_ts" not in m]
        return {"messages": roots, "ephemerals": self.slack.ephemerals(user)}

    def cluster(self) -> dict:
        return {"clusters": [dict(self._one(sandbox), name=name) for name, sandbox in self.clusters.items()],
                "at": time.time()}

    @staticmethod
    def _one(sandbox: Sandbox) -> dict:
        apps: dict[str, list] = {}
        for d in sandbox.store.list(("apps", "deployments")):
            labels = d["spec"]["template"]["metadata"].get("labels") or {}
            app = labels.get("app", d["metadata"]["name"])
            image = d["spec"]["template"]["spec"]["containers"][0]["image"]
            apps.setdefault(app, []).append({
                "name": d["metadata"]["name"], "version": labels.get("version", "?"), "image": image,
                "replicas": d["spec"].get("replicas", 0),
                "ready": (d.get("status") or {}).get("readyReplicas", 0)})
        share: dict[str, dict[str, int]] = {}
        for labels, count in sandbox.traffic.series.window(5).items():
            values = dict(labels)
            served = share.setdefault(values["app"], {})
            served[values["version"]] = served.get(values["version"], 0) + count
        return {"apps": apps, "traffic": share}


def _handler(console: Console):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: object, code: int = 200) -> None:
            self._send(code, json.dumps(data).encode(), "application/json")

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query))
            if url.path == "/api/users":
                return self._json(USERS)
            if url.path == "/api/messages":
                return self._json(console.messages(query.get("user", "")))
            if url.path == "/api/cluster":
                return self._json(console.cluster())
            if url.path == "/api/home":
                return self._json(console.home(query.get("user", ""), query.get("opened") == "1"))
            if url.path == "/api/modal":
                return self._json(console.modal())
            if url.path == "/api/file":
                data = console.slack.uploads.data(query.get("id", ""))
                return self._send(200, data, "image/png") if data else self._send(404, b"no such file", "text/plain")
            name = "index.html" if url.path in ("/", "") else url.path.lstrip("/").removeprefix("static/")
            path = (STATIC / name).resolve()
            if STATIC.resolve() not in path.parents or not path.is_file():
                return self._send(404, b"not found", "text/plain")
            self._send(200, path.read_bytes(), TYPES.get(path.suffix, "application/octet-stream"))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._json({"error": "bad JSON"}, 400)
            if self.path == "/api/command":
                return self._json(console.command(body.get("user", ""), body.get("text", "")))
            if self.path == "/api/home-action":
                return self._json(console.home_action(body.get("user", ""), body.get("action_id", ""),
                                                      body.get("value", ""), body.get("view_id", "")))
            if self.path == "/api/submit":
                return self._json(console.submit(body.get("user", ""), body.get("view_id", ""), body.get("values") or {}))
            if self.path == "/api/action":
                return self._json(console.action(body.get("user", ""), body.get("action_id", ""),
                                                 body.get("value", ""), body.get("ts", "")))
            self._json({"error": "not found"}, 404)
    return Handler


def serve_console(console: Console, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), _handler(console))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="playground-console", daemon=True).start()
    return server
