"""Signed button values: release id, stage and state version, with an HMAC of the bot's key, so a
value edited or copied from another release does not verify. Any chat platform with buttons (and
the Home tab or a DM) carries the same value, and core checks it the same way."""
from __future__ import annotations

import hashlib
import hmac
import json

from bot.domain.model import Release


def _mac(key: bytes, release_id: str, stage: int, version: int) -> str:
    return hmac.new(key, f"{release_id}|{stage}|{version}".encode(), hashlib.sha256).hexdigest()[:24]


def button_value(release: Release, key: bytes = b"") -> str:
    return json.dumps({"r": release.id, "s": release.stage, "v": release.version,
                       "m": _mac(key, release.id, release.stage, release.version)}, separators=(",", ":"))


def parse_button_value(value: str, key: bytes = b"") -> tuple[str, int, int]:
    """(release id, stage, version) of a value this bot signed; ValueError for anything else."""
    try:
        raw = json.loads(value)
        release_id, stage, version, mac = raw["r"], raw["s"], raw["v"], raw["m"]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a graybot button value: {exc}") from None
    if not (isinstance(release_id, str) and isinstance(mac, str) and all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2 ** 31 for n in (stage, version))):
        raise ValueError("malformed graybot button value")
    if not hmac.compare_digest(mac, _mac(key, release_id, stage, version)):
        raise ValueError("button value signature does not verify")
    return release_id, stage, version
