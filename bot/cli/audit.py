"""`graybot audit`: the audit trail listed, or its hash chains verified."""
from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    """List the audit trail (every change: who, what, when, evidence, cluster), or --verify its
    hash chains (exit 1 when an entry was edited or deleted)."""
    from ..config import ConfigError, Settings
    from ..core import audittrail
    from ..wiring import build_core

    try:
        core = build_core(Settings.from_env())
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    if args.app and args.app not in core.registry:
        print(f"unknown app {args.app!r} (apps: {', '.join(core.registry)})", file=sys.stderr)
        return 2
    if args.verify:
        broken = audittrail.broken(core.store, args.app)
        for release_id, problems in broken.items():
            print(f"{release_id}: " + "; ".join(problems))
        print("audit chains: " + ("BROKEN" if broken else "intact"), file=sys.stderr)
        return 1 if broken else 0
    print(audittrail.render(audittrail.entries(core.store, args.app, args.since), args.format))
    return 0


def since(text: str) -> float:
    """7d, 12h, 30m (that long ago) or a date, 2026-12-01 or 2026-12-01T08:00 (UTC)."""
    import time
    from datetime import datetime, timezone

    from ..domain.durations import parse_duration

    seconds = parse_duration(text)
    if seconds is not None:
        return time.time() - seconds
    try:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use a duration (7d, 12h) or a date (2026-12-01)") from None
