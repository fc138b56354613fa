"""`/release`: parse and ack at once (usage errors and help answer in the ack itself);
everything that reads Redis or the cluster runs after the ack on the edge's workers, from a
durable inbox entry (edge.py), so a crash between ack and work is carried out later."""
from __future__ import annotations

import time

from slack_bolt import Ack, App

from bot.adapters import telemetry
from bot.adapters.edgestate import StoreUnavailable
from bot.core import service
from bot.language.grammar import ActionCommand, Command, PolicyCommand, QueryCommand, StartCommand, UsageError, parse
from bot.language.text import help_text, status_text

from .edge import Edge
from .guard import UNREACHABLE

VERSIONED = {"approve", "continue"}       # a replay must find the state the person saw


def register(app: App, edge: Edge) -> None:
    edge.handlers["command"] = carry_out

    @app.command("/release")
    def release_command(ack: Ack, command: dict) -> None:
        started = time.perf_counter()
        text = (command.get("text") or "").strip()
        user, channel = command["user_id"], command["channel_id"]
        try:
            cmd = parse(text, edge.registry)
        except UsageError as err:
            ack(response_type="ephemeral", text=f":warning: {err.problem}\n*Usage:* `{err.usage}`")
            return telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        if isinstance(cmd, QueryCommand) and cmd.verb == "help":
            ack(response_type="ephemeral", text=f"```{help_text(cmd.topic)}```")
            return telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        request = {"kind": "command", "what": f"/release {text}", "text": text, "user": user,
                   "channel": channel, "app": getattr(cmd, "app", None)}
        try:
            if isinstance(cmd, ActionCommand) and cmd.verb in VERSIONED:
                seen = edge.store.active_for(cmd.app)
                request["expected"] = seen.version if seen else None
            entry = edge.accept(request)
        except StoreUnavailable:
            ack(response_type="ephemeral", text=UNREACHABLE)
            return telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        ack(response_type="ephemeral", text=f":hourglass_flowing_sand: `/release {text}`")
        telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        edge.run_later(entry, request)


def _refusal(edge: Edge, cmd: Command, user: str, channel: str) -> str | None:
    if isinstance(cmd, QueryCommand) or getattr(cmd, "dry_run", False):
        return None
    if isinstance(cmd, PolicyCommand):
        if cmd.verb == "stop-all":      # checked release by release (service.stop_all)
            return None
        apps = [cmd.app] if cmd.app else sorted(edge.registry)   # `all`: an approver of every app
        return next((why for why in (edge.policy.refusal("approve", edge.registry[a], user, channel)
                                     for a in apps) if why is not None), None)
    app = edge.registry[cmd.app]
    if isinstance(cmd, StartCommand):
        return edge.policy.start_refusal(app, user, channel, cmd.cluster, cmd.waves)
    return edge.policy.refusal(cmd.verb, app, user, channel, edge.store.active_for(cmd.app))


def carry_out(edge: Edge, request: dict, replayed: bool) -> str | None:
    """Run the command; what to tell the person (None: the live message says it all)."""
    try:
        cmd = parse(request["text"], edge.registry)
    except UsageError as err:           # the registry changed since the ack
        return f":warning: {err.problem}"
    user, channel = request["user"], request["channel"]
    refusal = _refusal(edge, cmd, user, channel)
    if refusal is not None:
        release = edge.store.active_for(cmd.app) if getattr(cmd, "app", None) else None
        if release is not None:
            edge.store.record(release.id, user, "refused", f"{getattr(cmd, 'verb', 'start')}: {refusal}")
        return f":no_entry: {refusal}"
    expected = request.get("expected") if replayed else None
    may = lambda verb, release: edge.policy.refusal(   # noqa: E731 - per release, for stop-all
        verb, edge.registry[release.app], user, channel, release)
    reply = service.execute(edge.engine, cmd, user, channel=channel, expected_version=expected, may=may)
    if not reply.ok:
        if isinstance(cmd, ActionCommand) and (release := edge.store.active_for(cmd.app)):
            edge.store.record(release.id, user, "refused", f"{cmd.verb}: {reply.text}")
        return f":no_entry: {reply.text}"
    edge.wake()
    if isinstance(cmd, QueryCommand) or (isinstance(cmd, StartCommand) and cmd.dry_run):
        return f"```{reply.text}```"
    if isinstance(cmd, PolicyCommand):
        return reply.text
    if replayed and reply.release is not None:
        return f"it has now been carried out:\n```{status_text(reply.release)}```"
    return None
