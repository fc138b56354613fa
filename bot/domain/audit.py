"""The audit trail's rules, pure: apps.yaml's `audit:` section, and the hash chain that makes an
edited or deleted entry visible. Each release's entries form one chain: an entry carries the
hash of the one before it (`prev`) and its own (`hash`, SHA-256 over every other field in a
canonical JSON form); the chain's head (the last hash and the number of entries) is kept beside
it, so deleting the newest entries shows too."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .durations import parse_duration

AUDIT_KEYS = ("retention", "webhook", "timeout")
DEFAULT_RETENTION = 400 * 86400       # a little over a year: most audits look back twelve months
UNCHAINED = "written before the audit chain"


@dataclass(frozen=True)
class AuditSpec:
    retention: int = DEFAULT_RETENTION    # seconds a finished release's trail is kept
    webhook: str = ""                     # every entry is POSTed here as JSON, signed
    timeout: int = 10                     # seconds one delivery may take


def parse_audit(raw: object, problems: list[str]) -> AuditSpec:
    if raw is None:
        return AuditSpec()
    if not isinstance(raw, dict):
        problems.append("audit: must be a mapping (retention, webhook, timeout)")
        return AuditSpec()
    for key in sorted(set(raw) - set(AUDIT_KEYS)):
        problems.append(f"audit: unknown key {key!r} (known: {', '.join(AUDIT_KEYS)})")
    values: dict = {}
    for key, least in (("retention", 86400), ("timeout", 1)):
        if key in raw:
            seconds = parse_duration(str(raw[key]))
            if seconds is None or seconds < least:
                problems.append(f"audit.{key}: {raw[key]!r} is not a duration of at least "
                                f"{'1d' if least == 86400 else '1s'}, like {'400d' if least == 86400 else '10s'}")
            else:
                values[key] = seconds
    webhook = str(raw.get("webhook") or "")
    if webhook and not webhook.startswith(("http://", "https://")):
        problems.append(f"audit.webhook: {webhook!r} is not an http(s) URL")
    return AuditSpec(webhook=webhook, **values)


def entry_hash(fields: dict) -> str:
    body = {k: str(v) for k, v in fields.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def seal(fields: dict, prev: str) -> dict:
    """`fields` joined to the chain after the entry whose hash is `prev` ("" for the first)."""
    linked = dict(fields, prev=prev)
    return dict(linked, hash=entry_hash(linked))


def chain_problems(entries: list[dict], head: dict) -> list[str]:
    """What is wrong with one release's chain: `entries` in order (each with its stream `id`),
    `head` as saved ({"hash", "count"}, empty when none was). Nothing wrong: []."""
    problems, prev, chained = [], "", 0
    for n, entry in enumerate(entries, 1):
        fields = {k: v for k, v in entry.items() if k != "id"}
        if "hash" not in fields:
            if chained:
                problems.append(f"entry {n} ({entry.get('id')}) has no hash: added outside graybot")
            continue
        chained += 1
        if fields.get("prev", "") != prev:
            problems.append(f"entry {n} ({entry.get('id')}) does not follow the one before it: "
                            "an entry before it was deleted or changed")
        if entry_hash(fields) != fields["hash"]:
            problems.append(f"entry {n} ({entry.get('id')}) was edited after it was written")
        prev = fields["hash"]
    if head:
        if int(head.get("count", 0)) != chained:
            problems.append(f"{int(head.get('count', 0))} entries were written and {chained} are left")
        elif head.get("hash", "") != prev:
            problems.append("the newest entry is not the one graybot wrote last")
    elif chained:
        problems.append("the chain's head is missing")
    return problems
