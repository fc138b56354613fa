"""Which waves of a release a step concerns (pure reading of the saved release)."""
from __future__ import annotations

from bot.domain.model import Release, WaveState


def previous_done(release: Release) -> int | None:
    """The newest finished wave before the current one (what `rollback --all-waves` undoes next)."""
    return next((i for i in range(release.wave - 1, -1, -1) if release.waves[i].state == WaveState.DONE), None)


def to_retire(release: Release, include_current: bool) -> list[int]:
    """Finished waves whose old version is retired as the release ends (and the current one if
    it finished too). A one-cluster release is its own one wave."""
    if not release.in_waves:
        return [0] if include_current else []
    return [i for i, wave in enumerate(release.waves)
            if (i == release.wave and include_current) or (i != release.wave and wave.state == WaveState.DONE)]


def first_stage_key(release: Release) -> str | int:
    """The stage key of the current wave's first stage (once-per-wave marks live there)."""
    return release.replace(stage=0).stage_key
