"""Control goes back to Argo CD or Flux only when Git holds the release. Turning self-heal back on
while Git still holds the old version makes the controller re-create it at once (and the Service
sends it traffic again) right after "succeeded". So when a release that suspended reconciliation
succeeds, graybot restores it at once only if the controller already reports Git in sync;
otherwise reconciliation stays suspended, the thread says why and what to commit, the release is
remembered in Redis (`gitops-pending`), and the leader restores reconciliation as soon as the
controller reports Synced, saying so. With `gitops.writeback` graybot first writes the release
to Git itself (writeback.py) and holds only until the controller has synced that commit (or
the pull request is merged); a write-back that could not reach Git is retried from here. A
rollback hands back at once: Git holds what is running."""
from __future__ import annotations

import time

from bot.domain.model import Release
from bot.domain.names import GRAYBOT

from .writeback import WriteBack

RECHECK = 5.0        # seconds between looks at a held release's controller


class HandBack:
    def __init__(self, engine):
        self.engine = engine
        self.writeback = WriteBack(engine)
        self._looked = 0.0

    def restore_or_hold(self, view: Release, index: int) -> bool:
        """At the end of a succeeded wave: True when reconciliation is back, or held for Git."""
        engine = self.engine
        written = self.writeback.run(view, index)         # None: the app has no write-back
        ok, lag = engine.safely(lambda _w, r: engine.gitops.git_lag(r) if engine.gitops.suspended(r) else None, view)
        if not ok:
            return False
        if lag or (written is not None and written["state"] == "retry"):
            engine.store.gitops_pending_add(f"{view.id}#{index}")
        if not lag:
            return engine.safely(engine.gitops.restore, view)[0]
        said = f"reconciliation stays suspended until Git holds the release ({lag}); " + _awaiting(view, written)
        engine.store.record(view.id, GRAYBOT, "gitops_held", said)
        engine.announce(view, "gitops_held", said)
        return True

    def round(self) -> int:
        """The leader's duty: hand back every held release whose controller reports Git in sync."""
        if time.monotonic() - self._looked < RECHECK:
            return 0
        self._looked, handed = time.monotonic(), 0
        engine = self.engine
        for member in engine.store.gitops_pending():
            release_id, _, index = member.partition("#")
            release = engine.store.get(release_id)
            if release is None:
                engine.store.gitops_pending_remove(member)
                continue
            view = release.at_wave(int(index or 0))
            written = self.writeback.run(view, int(index or 0))     # a write-back not done yet: again
            suspended = engine.gitops.suspended(view)
            ok, lag = engine.safely(lambda _w, r: engine.gitops.git_lag(r), view) if suspended else (True, None)
            if not ok or lag or (written is not None and written["state"] == "retry" and not suspended):
                continue
            if suspended and not engine.safely(engine.gitops.restore, view)[0]:
                continue
            engine.store.gitops_pending_remove(member)
            if suspended:
                said = "Git holds the release: reconciliation restored"
                engine.store.record(release_id, GRAYBOT, "gitops_restored", said)
                engine.announce(view, "gitops_restored", said)
                handed += 1
        return handed

    def held(self, release_id: str) -> bool:
        return any(m.partition("#")[0] == release_id for m in self.engine.store.gitops_pending())


def _awaiting(view: Release, written: dict | None) -> str:
    """What the hold waits for, after what the write-back did."""
    if written is None or written["state"] in ("conflict", "refused"):
        return f"commit what `/release gitops-diff {view.app}` says, and graybot restores it then"
    if written["state"] == "pull-request":
        return f"graybot restores it once pull request #{written['pull']} is merged and synced"
    if written["state"] == "retry":
        return "graybot writes it to Git when the repository answers, and restores it once synced"
    return f"graybot restores it once the controller has synced commit {written.get('commit', '')[:10]}"
