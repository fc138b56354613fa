"""`/release`: parse and ack at once (usage errors and help answer in the ack itself);
everything that reads Redis or the cluster runs after the ack on the edge's workers."""
from __future__ import annotations

import time

from slack_bolt import Ack, App

from bot.adapters import telemetry
from bot.core import service
from bot.language.grammar import ActionCommand, Command, QueryCommand, StartCommand, UsageError, parse
from bot.language.text import help_text

from .edge import Edge


def register(app: App, edge: Edge) -> None:
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
        request = {"what": f"/release {text}", "user": user, "channel": channel,
                   "app": getattr(cmd, "app", None)}
        entry = edge.state.inbox_add(request)
        ack(response_type="ephemeral", text=f":hourglass_flowing_sand: `/release {text}`")
        telemetry.ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        edge.run_later(entry, request, lambda: handle(edge, cmd, user, channel))


def _refusal(edge: Edge, cmd: Command, user: str, channel: str) -> str | None:
    if isinstance(cmd, QueryCommand) or getattr(cmd, "dry_run", False):
        return None
    app = edge.registry[cmd.app]
    if isinstance(cmd, StartCommand):
        return edge.policy.channel_refusal(app, channel)
    verb = cmd.verb
    return edge.policy.refusal(verb, app, user, channel, edge.store.active_for(cmd.app))


def handle(edge: Edge, cmd: Command, user: str, channel: str) -> None:
    refusal = _refusal(edge, cmd, user, channel)
    if refusal is not None:
        release = edge.store.active_for(cmd.app)
        if release is not None:
            edge.store.record(release.id, user, "refused", f"{getattr(cmd, 'verb', 'start')}: {refusal}")
        return edge.ephemeral(channel, user, f":no_entry: {refusal}")
    reply = service.execute(edge.engine, cmd, user, channel=channel)
    if not reply.ok:
        if isinstance(cmd, ActionCommand) and (release := edge.store.active_for(cmd.app)):
            edge.store.record(release.id, user, "refused", f"{cmd.verb}: {reply.text}")
        return edge.ephemeral(channel, user, f":no_entry: {reply.text}")
    edge.wake()
    if isinstance(cmd, QueryCommand) or (isinstance(cmd, StartCommand) and cmd.dry_run):
        edge.ephemeral(channel, user, f"```{reply.text}```")
