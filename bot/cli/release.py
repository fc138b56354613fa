"""`graybot release`: a /release command from a terminal, and who the terminal acts as."""
from __future__ import annotations

import argparse
import re
import sys

from ..domain.names import IDENTITY


def run(args: argparse.Namespace) -> int:
    """A /release command from a terminal, under the same policy as chat: the identity in
    GRAYBOT_CLI_USER (else the OS user) is matched against apps.yaml's approvers like a chat user.
    `--override-policy "reason"` goes past a refusal, recorded in the audit trail and the thread."""
    from ..config import ConfigError, Settings
    from ..core.desk import Desk
    from ..core.policy import Policy
    from ..core.requests import Request, Tone
    from ..language import text
    from ..language.grammar import QueryCommand, UsageError, parse
    from ..wiring import build_core

    actor, why_not = cli_identity()
    if why_not:
        print(why_not, file=sys.stderr)
        return 2
    try:
        core = build_core(Settings.from_env())
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    words = " ".join(args.words)
    try:
        cmd = parse(words, core.registry)
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    core.engine.listeners.append(
        lambda release, what, detail: print(f"  {what.replace('_', ' ')}: stage {release.current.name}"
                                            f" -> {release.phase.value}" + (f" ({detail})" if detail else "")))
    core.engine.listeners.append(        # the release's thread tells what was done from here, too
        lambda release, what, detail: core.edge_state.notice_add(release.id, what, detail))
    desk = Desk(core.engine, Policy(), core.edge_state)
    said = desk.command(Request("command", f"graybot release {words}", actor, "", platform="cli", text=words),
                        override=args.override_policy or "")
    if said is not None and said.tone in (Tone.REFUSED, Tone.WARNING):
        print(said.text, file=sys.stderr)
        return 1
    print(said.text if said else "")
    app = getattr(cmd, "app", None)
    release = core.store.active_for(app) if app and not isinstance(cmd, QueryCommand) else None
    if release is not None and not args.no_wait and not getattr(cmd, "dry_run", False):
        print(text.status_text(core.engine.settle(release.id, timeout=args.timeout)))
    return 0


RESERVED_IDENTITIES = ("graybot", "scheduler")
CHAT_ID = re.compile(r"^[UWSCGDB][A-Z0-9]{2,}$")


def cli_identity() -> tuple[str, str]:
    """(who the CLI acts as, why it cannot): `cli:NAME`, NAME from GRAYBOT_CLI_USER or the OS
    user; apps.yaml names CLI approvers so (`approvers: [U0ALICE, "cli:alice"]`). A terminal
    cannot pass for a chat user (a name shaped like a chat ID) nor for graybot or a timer."""
    import getpass
    import os

    name = os.environ.get("GRAYBOT_CLI_USER", "").strip() or getpass.getuser()
    if name.lower() in RESERVED_IDENTITIES:
        return name, (f"GRAYBOT_CLI_USER={name!r} is one of graybot's own names ({', '.join(RESERVED_IDENTITIES)}); "
                      "act as yourself")
    if CHAT_ID.match(name) or not IDENTITY.match(f"cli:{name}"):
        return name, (f"GRAYBOT_CLI_USER={name!r} looks like a chat user's ID; the CLI acts under its own names: "
                      "set your own name, and list it as cli:NAME in apps.yaml's approvers")
    return f"cli:{name}", ""
