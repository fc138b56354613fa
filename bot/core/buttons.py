"""Signed button values: release id, stage, state version and the button's action, with an HMAC
of the bot's key, so a value edited, copied from another release or moved to another button (a
Resume value on Continue) does not verify. Any chat platform with buttons (and the Home tab or a
DM) carries the same value, and core checks it the same way."""
from __future__ import annotations

import hashlib
import hmac
import json

from bot.domain.model import Release


def _mac(key: bytes, release_id: str, stage: int, version: int, action: str) -> str:
    return hmac.new(key, f"{release_id}|{stage}|{version}|{action}".encode(), hashlib.sha256).hexdigest()[:24]


def button_value(release: Release, action: str, key: bytes = b"") -> str:
    return json.dumps({"r": release.id, "s": release.stage, "v": release.version, "a": action,
                       "m": _mac(key, release.id, release.stage, release.version, action)}, separators=(",", ":"))


def parse_button_value(value: str, action: str, key: bytes = b"") -> tuple[str, int, int]:
    """(release id, stage, version) of a value this bot signed for `action`; ValueError for
    anything else."""
    try:
        raw = json.loads(value)
        release_id, stage, version, mac = raw["r"], raw["s"], raw["v"], raw["m"]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a graybot button value: {exc}") from None
    if not (isinstance(release_id, str) and isinstance(mac, str) and all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2 ** 31 for n in (stage, version))):
        raise ValueError("malformed graybot button value")
    if not hmac.compare_digest(mac, _mac(key, release_id, stage, version, action)):
        raise ValueError(f"button value signature does not verify for {action!r}")
    return release_id, stage, version
