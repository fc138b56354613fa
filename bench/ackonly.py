"""The reference for bench/ack_latency: a Bolt app that only acks, on graybot's own HTTP stack
(handlers.http: waitress + Bolt's WSGI adapter), so the difference is graybot's own work. With
--durable it also writes each request to Redis before its ack: the floor of any design that keeps
an acked request (the second reference of bench/ack_latency --durable-reference).

    python -m bench.ackonly --port 3100 --secret S
"""
from __future__ import annotations

import argparse
import json
import os
import re

import redis
from slack_bolt import App
from slack_sdk import WebClient

from bot.runtime.lifecycle import wait_for_interrupt
from handlers.http import SlackHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--durable", metavar="REDIS_URL", default="",
                        help="also write each request to a Redis stream before its ack (the durable floor)")
    args = parser.parse_args()
    # the same single-workspace authorisation graybot does (auth.test, once), against the same fake Slack
    client = WebClient(token="xoxb-reference", base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"))
    app = App(signing_secret=args.secret, client=client, token_verification_enabled=False)
    durable = redis.Redis.from_url(args.durable) if args.durable else None

    def keep(body: dict) -> None:
        if durable is not None:          # one round trip, as graybot's inbox write
            durable.xadd("reference:inbox", {"request": json.dumps(body)}, maxlen=10_000, approximate=True)

    def on_command(ack, body) -> None:
        keep(body)
        ack(response_type="ephemeral", text="ok")

    def on_action(ack, body) -> None:
        keep(body)
        ack()
    app.command("/release")(on_command)
    app.action(re.compile(".*"))(on_action)
    server = SlackHTTPServer(("127.0.0.1", args.port), app, lambda: {"ok": True}, lambda: b"")
    server.serve_in_thread()
    print("ready", flush=True)
    wait_for_interrupt()
    server.shutdown()


if __name__ == "__main__":
    main()
