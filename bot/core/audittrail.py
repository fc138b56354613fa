"""Reading the audit trail, for `graybot audit` and `/release audit APP`: every change (who, what,
when, the evidence in its detail, which cluster) across releases, and the hash chains checked."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

from bot.adapters.store import Store
from bot.language import text

COLUMNS = ("when", "release", "app", "cluster", "actor", "action", "before", "after", "detail", "version", "hash")


def _app_of(store: Store, release_id: str, entries: list[dict]) -> str:
    named = next((e["app"] for e in entries if e.get("app")), "")
    if named:
        return named
    release = store.get(release_id)
    return release.app if release else ""


def entries(store: Store, app: str | None = None, since: float = 0.0) -> list[dict]:
    """Every entry of every release (of `app`) written at or after `since`, oldest first."""
    found = []
    for release_id in store.trail.releases(since):
        trail = store.trail.entries(release_id)
        owner = _app_of(store, release_id, trail)
        if app and owner != app:
            continue
        for entry in trail:
            if float(entry.get("at", 0)) >= since:
                found.append(dict(entry, release=release_id, app=owner,
                                  when=datetime.fromtimestamp(float(entry.get("at", 0)), timezone.utc)
                                  .strftime("%Y-%m-%dT%H:%M:%SZ")))
    return sorted(found, key=lambda e: (float(e.get("at", 0)), e["id"]))


def broken(store: Store, app: str | None = None) -> dict[str, list[str]]:
    """Release id -> what is wrong with its chain, for each release (of `app`) whose chain is not whole."""
    found = {}
    for release_id in store.trail.releases():
        if app and _app_of(store, release_id, store.trail.entries(release_id)) != app:
            continue
        problems = store.trail.problems(release_id)
        if problems:
            found[release_id] = problems
    return found


def render(rows: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{k: row.get(k, "") for k in COLUMNS} for row in rows], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    return "\n".join(text.audit_line(row) for row in rows)

