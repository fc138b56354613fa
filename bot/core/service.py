"""One command in, one reply out: the flow the CLI, Slack and the playground share."""
from __future__ import annotations

from dataclasses import dataclass

from bot.domain.model import Release
from bot.language import text
from bot.language.grammar import ActionCommand, Command, QueryCommand, StartCommand, UsageError, parse

from .engine import Engine, Refused


@dataclass(frozen=True)
class Reply:
    text: str
    ok: bool = True
    release: Release | None = None
    changes: bool = False          # True when the command changed (or will change) a release


def query(engine: Engine, cmd: QueryCommand) -> Reply:
    store = engine.store
    if cmd.verb == "help":
        return Reply(text.help_text(cmd.topic))
    if cmd.verb == "list":
        return Reply(text.list_text(store.active()))
    if cmd.verb == "history":
        return Reply(text.history_text(cmd.app, store.history(cmd.app)))
    if cmd.app:
        release = store.active_for(cmd.app) or next(iter(store.history(cmd.app, 1)), None)
        return Reply(text.status_text(release) if release else f"{cmd.app} has no releases yet.",
                     release=release)
    return Reply(text.list_text(store.active()))


def execute(engine: Engine, cmd: Command, actor: str, channel: str = "",
            expected_version: int | None = None) -> Reply:
    try:
        if isinstance(cmd, QueryCommand):
            return query(engine, cmd)
        if isinstance(cmd, StartCommand):
            release = engine.start(cmd, actor, channel=channel)
            if cmd.dry_run:
                return Reply(text.plan_text(release, dry_run=True), release=release)
            return Reply(text.plan_text(release), release=release, changes=True)
        if isinstance(cmd, ActionCommand):
            release = engine.act(cmd, actor, expected_version)
            return Reply(text.status_text(release), release=release, changes=True)
    except Refused as err:
        return Reply(str(err), ok=False)
    raise TypeError(f"unknown command {cmd!r}")


def run_text(engine: Engine, line: str, actor: str, channel: str = "") -> Reply:
    try:
        cmd = parse(line, engine.registry)
    except UsageError as err:
        return Reply(str(err), ok=False)
    return execute(engine, cmd, actor, channel)
