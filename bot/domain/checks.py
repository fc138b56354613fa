"""The small checks every part of apps.yaml's parsing shares (pure)."""
from __future__ import annotations

import difflib


def unknown_keys(raw: dict, known: tuple[str, ...], where: str, problems: list[str]) -> None:
    """A typo (`aprovers:`) must not silently mean "anyone may approve": every unknown key is a
    problem, with the nearest known key as a hint."""
    for key in raw:
        if str(key) in known:
            continue
        near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known keys: {', '.join(known)}"
        problems.append(f"{where}: unknown key {str(key)!r}{hint}")


def boolean(raw: dict, key: str, default: bool, where: str, problems: list[str]) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        problems.append(f"{where}.{key}: must be true or false, not {value!r}")
        return default
    return value
