"""The waves of a release in its live message (pure): one line per cluster, the current one with
its stage and ready pods; and the words for a wave's events and its approval."""
from __future__ import annotations

from bot.domain.model import Phase, Release, WaveState

from .mention import who as _who

WAVE_ICON = {WaveState.PENDING: ":white_circle:", WaveState.RUNNING: ":arrow_forward:",
             WaveState.DONE: ":white_check_mark:", WaveState.ROLLED_BACK: ":leftwards_arrow_with_hook:"}


def at_wave_gate(release: Release) -> bool:
    """The current wave is done and the next one waits for a person (or its timer)."""
    return release.phase == Phase.WAITING and release.last and release.next_wave is not None


def where(release: Release) -> str:
    """"[prod] " before every thread event of a release that names its cluster."""
    if release.in_waves or (release.cluster and release.cluster != "default"):
        return f"[{release.cluster}] "
    return ""


def wave_lines(release: Release, live: dict | None = None) -> str:
    lines = []
    for i, wave in enumerate(release.waves):
        state = WaveState.DONE if i == release.wave and release.phase == Phase.SUCCEEDED else wave.state
        line = f"{WAVE_ICON[state]} wave {i + 1} *{wave.cluster}* · {state.value}"
        if i == release.wave and release.phase.live and not at_wave_gate(release):
            line = f"{WAVE_ICON[WaveState.RUNNING]} wave {i + 1} *{wave.cluster}* · stage {release.stage + 1}/" \
                   f"{len(release.stages)} {release.current.name}"
            if live:
                line += f" · ready new {live.get('new_ready', 0)} / old {live.get('old_ready', 0)}"
        lines.append(line)
    return "\n".join(lines)


def approve_label(release: Release) -> str | None:
    if at_wave_gate(release):
        return f"Approve wave {release.next_wave.cluster}"
    return None


def gate_words(release: Release) -> str | None:
    if at_wave_gate(release):
        return (f"Wave *{release.cluster}* is done ({release.to_version} serves all of it); waiting for "
                f"approval to start wave *{release.next_wave.cluster}*")
    return None


def event_words(release: Release, what: str, detail: str) -> str | None:
    if what == "wave_done":
        nxt = release.next_wave.cluster if release.next_wave else "the next cluster"
        return (f":white_check_mark: wave *{release.cluster}* done: {release.to_version} serves all of "
                f"{release.cluster}; the *{nxt}* wave starts once approved" + (f" ({detail})" if detail else ""))
    if what == "vote" and at_wave_gate(release):
        return f":ballot_box_with_check: {_who(release.last_actor)} approved starting the *{release.next_wave.cluster}* wave; " \
               "waiting for more approvals"
    if what == "wave_rolled_back":
        return f":leftwards_arrow_with_hook: wave undone ({detail}); rolling back *{release.cluster}* now"
    if what == "approve" and release.stage == 0 and release.wave > 0:
        return f"{_who(release.last_actor)} approved the *{release.cluster}* wave; applying *{release.current.name}*"
    if what == "finished" and release.in_waves:
        done = ", ".join(w.cluster for w in release.waves)
        return f":tada: {release.to_version} serves everything in {done}; {release.from_version} retired"
    return None
