"""One command in, one reply out: the flow the CLI, Slack and the playground share."""
from __future__ import annotations

from dataclasses import dataclass

from typing import Callable

from bot.domain.model import Event, Phase, Release
from bot.language import text
from bot.language.grammar import (ActionCommand, Command, PolicyCommand, QueryCommand, StartCommand,
                                  UsageError, parse)

from bot.adapters.writebacks import WriteBacks

from . import audittrail
from .handback import HandBack
from .engine import Engine, Refused
from .requests import Tone


@dataclass(frozen=True)
class Reply:
    text: str                      # neutral text: the edge adds its own marks (requests.Tone)
    ok: bool = True
    release: Release | None = None
    changes: bool = False          # True when the command changed (or will change) a release
    tone: Tone = Tone.INFO


AUDIT_SHOWN = 15          # entries /release audit shows; the CLI lists every one
May = Callable[[str, Release], "str | None"]     # (verb, release) -> why not, or None


def _with_freezes(engine: Engine, body: str) -> str:
    lines = engine.freezes.lines()
    return body + ("\n" + "\n".join(lines) if lines else "")


def query(engine: Engine, cmd: QueryCommand) -> Reply:
    store = engine.store
    if cmd.verb == "help":
        return Reply(text.help_text(cmd.topic))
    if cmd.verb == "list":
        return Reply(_with_freezes(engine, text.list_text(store.active())))
    if cmd.verb == "history" and cmd.app:
        return Reply(text.history_text(cmd.app, store.history(cmd.app)))
    if cmd.verb == "audit" and cmd.app:
        rows = audittrail.entries(store, cmd.app)
        return Reply(text.audit_text(cmd.app, rows[-AUDIT_SHOWN:], len(rows), audittrail.broken(store, cmd.app)))
    if cmd.verb == "gitops-diff" and cmd.app:
        done = next((r for r in store.history(cmd.app) if r.phase == Phase.SUCCEEDED), None)
        if done is None:
            return Reply(f"{cmd.app} has no successful release to hand back to Git.", ok=False)
        if cmd.cluster and not _ran_in(engine, done, cmd.cluster):
            return Reply(f"{cmd.app}'s last successful release ({done.id}) did not run in {cmd.cluster}", ok=False)
        done = text.only_wave(done, cmd.cluster) if cmd.cluster else done
        change = engine.gitops.handback(done, engine.registry[cmd.app].at(done.cluster).service)
        return Reply(text.handback_yaml(cmd.app, done, change), release=done)
    if cmd.app:
        release = store.active_for(cmd.app) or next(iter(store.history(cmd.app, 1)), None)
        if release is not None and cmd.cluster:
            if not _ran_in(engine, release, cmd.cluster):
                return Reply(f"{cmd.app}'s last release ({release.id}) did not run in {cmd.cluster}", ok=False)
            release = text.only_wave(release, cmd.cluster)
        body = text.status_text(release) if release else f"{cmd.app} has no releases yet."
        if release is not None and release.phase == Phase.SUCCEEDED:
            body += "".join(f"\n  Git: {r['said']}" for r in _written(engine, release))
        if release is not None and release.phase == Phase.SUCCEEDED and (lag := _git_lag(engine, release)):
            body += f"\n  succeeded, Git not yet updated: {lag} (`/release gitops-diff {cmd.app}` says what to commit)"
            if HandBack(engine).held(release.id):
                body += "; reconciliation stays suspended until Git holds the release"
        return Reply(_with_freezes(engine, body), release=release)
    return Reply(_with_freezes(engine, text.list_text(store.active())))


def _ran_in(engine: Engine, release: Release, cluster: str) -> bool:
    return cluster in [w.cluster for w in release.waves] + [engine.clusters.name_of(release.cluster)]


def _written(engine: Engine, release: Release) -> list[dict]:
    """What writing the release to Git did, per wave (nothing without gitops.writeback)."""
    whole = engine.store.get(release.id) or release
    return WriteBacks(engine.store.r, engine.store.replicas).of_release(release.id, len(whole.waves))


def _git_lag(engine: Engine, release: Release) -> str | None:
    try:
        return engine.gitops.git_lag(release)
    except Exception:          # the cluster not answering must not break a status reply
        return None


def stop_all(engine: Engine, actor: str, reason: str, may: May | None = None) -> Reply:
    """The emergency stop: pause every running release the person may pause, each in its own
    thread; say which were skipped and why."""
    paused, skipped = [], []
    for release in engine.store.active():
        if release.phase not in (Phase.PROGRESSING, Phase.WAITING):
            continue
        why = may("pause", release) if may else None
        try:
            if why is not None:
                raise Refused(why)
            engine.apply(release.id, Event.PAUSE, actor, reason=f"stop-all{': ' + reason if reason else ''}")
            paused.append(release.app)
        except Refused as err:
            skipped.append(f"{release.app} ({err})")
    said = f"paused {len(paused)}: {', '.join(paused) or 'none'}"
    return Reply(said + (f"; not paused: {'; '.join(skipped)}" if skipped else ""), ok=bool(paused) or not skipped,
                 changes=bool(paused), tone=Tone.STOPPED)


def policy(engine: Engine, cmd: PolicyCommand, actor: str, may: May | None = None) -> Reply:
    if cmd.verb == "stop-all":
        return stop_all(engine, actor, cmd.reason, may)
    if cmd.verb == "freeze":
        said, changed = engine.freezes.freeze(cmd, actor)
        return Reply(said, changes=changed, tone=Tone.FROZEN if changed else Tone.INFO)
    said, changed = engine.freezes.unfreeze(cmd)
    return Reply(said, changes=changed, tone=Tone.UNFROZEN if changed else Tone.INFO)


def execute(engine: Engine, cmd: Command, actor: str, channel: str = "", platform: str = "slack",
            expected_version: int | None = None, may: May | None = None, override: str = "",
            vet: Callable[[Release], str | None] | None = None) -> Reply:
    """`override`: the note of an operator who bypassed the policy (kept on a release it starts);
    `vet`: the policy's word on a planned release before it starts."""
    try:
        if isinstance(cmd, QueryCommand) and cmd.verb in ("mute", "unmute"):
            engine.store.set_muted(actor, cmd.verb == "mute")
            return Reply("you get no direct messages asking for approvals now; `/release unmute` brings them back."
                         if cmd.verb == "mute" else "you get direct messages asking for your approvals again.")
        if isinstance(cmd, QueryCommand):
            return query(engine, cmd)
        if isinstance(cmd, PolicyCommand):
            return policy(engine, cmd, actor, may)
        if isinstance(cmd, StartCommand):
            release = engine.start(cmd, actor, channel=channel, platform=platform, override=override, vet=vet)
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
