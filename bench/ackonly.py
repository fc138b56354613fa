"""The reference for bench/ack_latency: a Bolt app that only acks, on graybot's own HTTP stack
(handlers.http: waitress + Bolt's WSGI adapter), so the difference is graybot's own work.

    python -m bench.ackonly --port 3100 --secret S
"""
from __future__ import annotations

import argparse
import os
import re

from slack_bolt import App
from slack_sdk import WebClient

from bot.runtime.lifecycle import wait_for_interrupt
from handlers.http import SlackHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    # the same single-workspace authorisation graybot does (auth.test, once), against the same fake Slack
    client = WebClient(token="xoxb-reference", base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"))
    app = App(signing_secret=args.secret, client=client, token_verification_enabled=False)
    app.command("/release")(lambda ack: ack(response_type="ephemeral", text="ok"))
    app.action(re.compile(".*"))(lambda ack: ack())
    server = SlackHTTPServer(("127.0.0.1", args.port), app, lambda: {"ok": True}, lambda: b"")
    server.serve_in_thread()
    print("ready", flush=True)
    wait_for_interrupt()
    server.shutdown()


if __name__ == "__main__":
    main()
