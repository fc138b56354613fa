"""Scheduled jobs, referenced by importable name (`bot.jobs:advance`) with plain arguments, so
APScheduler can pickle them into Redis and any bot process can run them after a restart."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .core.engine import Engine

log = logging.getLogger("graybot.jobs")

# set by the scheduler when this process leads (one engine per process)
ENGINE: "Engine | None" = None
WAKE: Callable[[], None] = lambda: None


def advance(release_id: str, expected_version: int) -> None:
    """A release's timer fired: approve its next stage if its state is still the one timed."""
    if ENGINE is None:
        log.warning("timer for %s fired in a process with no engine", release_id)
        return
    ENGINE.advance(release_id, expected_version)
    WAKE()


def approval_expired(release_id: str, expected_version: int) -> None:
    """A stage waited longer than its app's approval_timeout: pause (or roll back) if unchanged."""
    if ENGINE is None:
        log.warning("approval expiry for %s fired in a process with no engine", release_id)
        return
    ENGINE.expire_approval(release_id, expected_version)
    WAKE()
