"""A running graybot in HTTP mode against the sandbox, real Redis and the fake Slack Web API,
built by bot/app.py over the kit's world (bot/wiring.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass

import urllib3

from bot.app import Graybot, build
from sandbox.slack import FakeSlack, block_action_body, signature_headers, slash_command_body

from .wait import wait_until
from .world import World, demo_world

SECRET = "test-signing-secret"
CHANNEL = "C0RELEASE"


@dataclass
class SlackWorld:
    world: World
    bot: Graybot
    slack: FakeSlack
    url: str
    http: urllib3.PoolManager

    def post(self, body: str, headers: dict | None = None, content_type="application/x-www-form-urlencoded"):
        headers = dict(headers if headers is not None else signature_headers(SECRET, body))
        headers["Content-Type"] = content_type
        return self.http.request("POST", self.url + "/slack/events", body=body.encode(), headers=headers)

    def command(self, text: str, user: str = "U0ALICE", channel: str = CHANNEL):
        return self.post(slash_command_body(text, user, channel))

    def live_message(self, channel: str = CHANNEL) -> dict:
        msgs = [m for m in self.slack.channel(channel) if "thread_ts" not in m]
        assert len(msgs) == 1, msgs
        return msgs[0]

    def buttons(self, message: dict) -> dict[str, dict]:
        for block in message["blocks"]:
            if block["type"] == "actions":
                return {e["action_id"]: e for e in block["elements"]}
        return {}

    def click(self, action_id: str, user: str = "U0ALICE", message: dict | None = None):
        message = message or self.live_message()
        value = self.buttons(message)[action_id]["value"]
        return self.post(block_action_body(action_id, value, user, CHANNEL, message["ts"]))

    def wait_buttons(self, *names: str) -> dict:
        """Until the live message shows exactly these buttons; returns the message."""
        def ready():
            msgs = [m for m in self.slack.channel(CHANNEL) if "thread_ts" not in m]
            return msgs and sorted(self.buttons(msgs[0])) == sorted(names) and msgs[0]
        return wait_until(ready, timeout=30, message=f"buttons {names}")

    def thread_texts(self) -> list[str]:
        roots = [m for m in self.slack.channel(CHANNEL) if "thread_ts" not in m]
        return [m["text"] for m in self.slack.thread(CHANNEL, roots[0]["ts"])] if roots else []

    def ephemeral_texts(self, user: str) -> list[str]:
        return [e["text"] for e in self.slack.ephemerals(user)]


def start_slack_world(sandbox, kube, redis_client, tmp_path, apps_doc=None, groups: dict | None = None,
                      prometheus: str = "", **settings) -> SlackWorld:
    slack = FakeSlack().start()
    slack.state.groups.update(groups or {})
    world = demo_world(sandbox, kube, redis_client, tmp_path, apps_doc, prometheus=prometheus,
                       **slack_settings(slack), **dict(dict(leader_ttl=3), **settings))
    return slack_world_over(world, slack)


def slack_settings(slack: FakeSlack) -> dict:
    """The Settings a world needs for graybot to talk to this fake Slack."""
    return dict(slack_bot_token="xoxb-test", slack_signing_secret=SECRET, slack_api_url=slack.url)


def slack_world_over(world: World, slack: FakeSlack) -> SlackWorld:
    """graybot in HTTP mode (bot/app.py) over an already built world."""
    bot = build(world.core.settings, core=world.core, message_retry=0.2, driver_period=0.2).start()
    wait_until(lambda: bot.runner.leading, message="leader elected")
    server = bot.http_server("127.0.0.1", 0)
    server.serve_in_thread()
    sw = SlackWorld(world, bot, slack, server.url, urllib3.PoolManager(maxsize=64))
    sw._server = server
    return sw


def stop_slack_world(sw: SlackWorld) -> None:
    sw._server.shutdown()
    sw.bot.stop()
    sw.slack.stop()


def ephemeral_ack(resp) -> str:
    assert resp.status == 200, resp.data
    return json.loads(resp.data).get("text", "") if resp.data else ""

