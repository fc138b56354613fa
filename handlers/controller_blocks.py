"""The live message's account of a progressive-delivery controller that runs the steps (an Argo
Rollout): its steps with the current one marked, the canary's weight, ready pods, and the
controller's own phase and message, as its watch last reported them."""
from __future__ import annotations

from .mrkdwn import plain

MARK = {"done": ":white_check_mark:", "current": ":arrow_forward:", "next": ":white_circle:"}


def controller_lines(live: dict | None) -> str:
    """"" when the release's workload has no controller of its own."""
    ctl = (live or {}).get("controller")
    if not ctl:
        return ""
    steps, at = ctl.get("steps") or [], int(ctl.get("step", 0))
    rows = [f"{MARK['done' if i < at else 'current' if i == at else 'next']} step {i + 1}: {plain(text)}"
            for i, text in enumerate(steps)]
    head = (f"*{ctl.get('kind', 'Controller')}* {plain(ctl.get('phase') or 'unknown')}"
            f" · step {min(at + 1, len(steps))}/{len(steps)} · canary weight {ctl.get('weight', 0)}%"
            f" · ready: new {live.get('new_ready', 0)} / stable {live.get('old_ready', 0)}")   # type: ignore[union-attr]
    message = f"\n_{plain(ctl['message'])}_" if ctl.get("message") else ""
    return head + message + ("\n" + "\n".join(rows) if rows else "")
