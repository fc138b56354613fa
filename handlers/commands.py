"""`/release`: parse and ack at once (usage errors and help answer in the ack itself);
everything that reads Redis or the cluster runs after the ack on the inbox's workers, from a
durable inbox entry (bot/runtime/inbox.py), so a crash between ack and work is carried out later."""
from __future__ import annotations

import time

from slack_bolt import Ack, App

from bot.adapters import telemetry
from bot.adapters.edgestate import Replayed, StoreUnavailable
from bot.core.policy import Policy
from bot.core.requests import Request
from bot.language.grammar import QueryCommand, UsageError, parse
from bot.language.text import help_text

from .edge import Edge
from .start_form import open_form
from .guard import FIRST_SIGHT, REPLAYED, unavailable


def register(app: App, edge: Edge, form_policy: Policy | None = None) -> None:
    """`form_policy`: the policy that picks the apps the start form offers (None: `/release` alone
    answers help, as before)."""
    @app.command("/release")
    def release_command(ack: Ack, command: dict, context: dict) -> None:
        started = time.perf_counter()
        text = (command.get("text") or "").strip()
        if not text and command.get("trigger_id") and form_policy is not None:   # the form instead of help
            ack()
            edge.inbox.workers.submit(open_form, edge, form_policy, command["trigger_id"], command["user_id"],
                                      command["channel_id"])
            return telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        try:
            cmd = parse(text, edge.registry)
        except UsageError as err:
            ack(response_type="ephemeral", text=f":warning: {err.problem}\n*Usage:* `{err.usage}`")
            return telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        if isinstance(cmd, QueryCommand) and cmd.verb == "help":
            ack(response_type="ephemeral", text=f"```{help_text(cmd.topic)}```")
            return telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        try:
            request = Request("command", f"/release {text}", command["user_id"], command["channel_id"],
                              text=text, app=getattr(cmd, "app", None), expected=edge.expected_version(cmd))
            entry = edge.inbox.accept(request, once=context.get(FIRST_SIGHT))
        except StoreUnavailable as exc:
            ack(response_type="ephemeral", text=unavailable(exc))
            return telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        except Replayed:
            ack(response_type="ephemeral", text=REPLAYED)
            return telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        ack(response_type="ephemeral", text=f":hourglass_flowing_sand: `/release {text}`")
        telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        edge.inbox.run_later(entry, request)
