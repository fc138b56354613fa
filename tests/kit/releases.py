"""Release records for pure tests (no Redis, no cluster)."""
from __future__ import annotations

from bot.domain.model import Phase, Release, Stage

STAGES = tuple(Stage(f"{w}%", w, w // 10, 10 - w // 10) for w in (10, 30, 50, 100))


def release(phase=Phase.PENDING, stage=0, **kw) -> Release:
    fields = dict(id="user-1", app="user", strategy="canary", namespace="default", from_version="v1",
                  to_version="v2", image="nginx:user-v2", stable_name="user-v1", new_name="user-v2",
                  replicas=10, stages=STAGES, requested_by="U1", phase=phase, stage=stage)
    fields.update(kw)
    return Release.make(**fields)
