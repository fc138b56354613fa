"""Why a request changed nothing, in sentences for people (the engine raises them as Refused)."""
from __future__ import annotations

from bot.domain.model import Phase, Release
from bot.language.text import when


class Refused(Exception):
    """The request changes nothing; the message tells the person why."""


def already(release: Release | None, first: dict | None = None) -> str:
    """Why a stale request changed nothing: who acted first and when, and where things are now."""
    if release is None:
        return "that release no longer exists"
    action, actor, at = release.last_action, release.last_actor, release.updated_at
    if first is not None:
        action, actor, at = first["action"], first["actor"], float(first["at"])
    return (f"already done: {action.replace('_', ' ')} by {actor} at {when(at)}; "
            f"{release.app} is now {release.phase.value} at stage {release.current.name}")


def busy(active: Release) -> str:
    return (f"{active.app} already has an active release: {active.id} ({active.strategy} to "
            f"{active.to_version}, {active.phase.value} at stage {active.current.name}, "
            f"started by {active.requested_by}). Finish or roll it back first.")


def ambiguous(app: str, serving: list[dict], last: Release | None, kind: str = "Deployment") -> str:
    """Two versions serve outside any release (a failed one left them): never guess."""
    running = ", ".join(f"{d['metadata']['name']} x{d['spec']['replicas']}" for d in serving)
    why = (f" The last release ({last.id}) {last.phase.value}: {last.reason}." if last is not None
           and last.phase == Phase.FAILED else "")
    return (f"{len(serving)} {kind}s of {app} serve ({running}), so graybot will not guess which "
            f"is stable.{why} Scale the one that should not serve to 0 (or delete it), then try again.")


def frozen(app: str, until: float, why: str) -> str:
    return f"{app} is frozen until {when(until)}: {why}. New releases wait for its end; timed stages too."


def voted_twice(actor: str, release: Release, more: int) -> str:
    step = release.next_stage.name if release.next_stage else release.current.name
    return (f"{actor} already approved {release.app}'s move to {step}; it needs {more} more "
            f"approval{'s' if more != 1 else ''} from someone else")


def other_wave(release: Release, asked: str, current: str) -> str | None:
    """`--cluster NAME` on approve/pause/rollback: the buttons and commands act on the wave
    being run; naming another cluster is refused, saying where the release is."""
    if asked == current:
        return None
    clusters = [w.cluster for w in release.waves] if release.in_waves else [current]
    if asked not in clusters:
        return f"release {release.id} does not run in {asked}; it runs in {', '.join(clusters)}"
    state = release.waves[clusters.index(asked)].state.value
    return (f"the {current} wave of {release.id} is the one running; the {asked} wave is {state}. "
            f"Commands act on the current wave.")
