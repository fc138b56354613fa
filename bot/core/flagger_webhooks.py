"""graybot as a Flagger Canary's gates: Flagger POSTs `{"name", "namespace", "phase", "checksum",
"metadata"}` to `/flagger/gates/HOOK` (HOOK one of confirm-rollout, confirm-traffic-increase,
confirm-promotion, rollback) and takes 200 as open, anything else as closed (retried at its next
interval; for `rollback`, 200 means "roll back now").

Who may ask: a Canary that apps.yaml names (`workload: flagger-canary`, its namespace and object)
with that app's token (`flagger.token_secret`), in the URL (`?token=`) or as `Authorization:
Bearer`. Anything else gets 403 and changes nothing, with the same words whether the canary or
the token was wrong. Which cluster's Flagger asks: `?cluster=NAME` (default: the app's first).

What opens a gate:
- confirm-promotion and rollback: a person, through graybot (Approve, Rollback), for that revision
  (checksum) only; kept in Redis, so a restart closes nothing and a new revision waits again;
- confirm-rollout and confirm-traffic-increase: the machine's steps, open while a graybot release of
  the app runs (not paused, not rolling back) and no freeze or window holds the app. A revision
  set outside graybot therefore waits at confirm-rollout until a release names it."""
from __future__ import annotations

import hmac
import json
import logging
from typing import Callable, Mapping

from bot.adapters.flaggergates import FlaggerGates, place
from bot.adapters.store import Store
from bot.domain.apps import AppSpec, Registry
from bot.domain.model import Phase
from bot.domain.names import FLAGGER_HOOKS

log = logging.getLogger("graybot.flagger")
PERSON_GATES = ("confirm-promotion", "rollback")
REFUSED = (403, "unknown canary or wrong token")


class FlaggerWebhooks:
    def __init__(self, registry: Registry, store: Store, gates: FlaggerGates, tokens: Mapping[str, str],
                 held: Callable[[str], object]):
        """`tokens`: app -> its token (read from the environment at start); `held(app)`: what
        freezes the app now (None when nothing does)."""
        self.registry, self.store, self.gates, self.tokens, self.held = registry, store, gates, tokens, held

    def answer(self, hook: str, token: str, cluster: str, body: bytes) -> tuple[int, str]:
        """(HTTP status, text) for one request of Flagger's."""
        if hook not in FLAGGER_HOOKS:
            return 404, f"no such gate {hook!r}: one of {', '.join(FLAGGER_HOOKS)}"
        try:
            payload = json.loads(body or b"{}")
            name, namespace, checksum = (str(payload[k]) for k in ("name", "namespace", "checksum"))
            phase = str(payload.get("phase", ""))
        except (ValueError, KeyError, TypeError):
            return 400, "expected Flagger's JSON payload with name, namespace and checksum"
        app = self._app(namespace, name, cluster, token)
        if app is None:
            log.warning("flagger gate %s refused for %s/%s (cluster %r)", hook, namespace, name, cluster)
            return REFUSED
        where = place(cluster or app.clusters[0], namespace, name)
        if self.gates.ask(where, hook, checksum, phase):
            return 200, "open"
        if hook in PERSON_GATES:
            return 403, ("no rollback asked" if hook == "rollback"
                         else f"waiting for an approval in graybot (/release approve {app.name})")
        held = self._holding(app)
        return (403, held) if held else (200, "open")

    def _app(self, namespace: str, name: str, cluster: str, token: str) -> AppSpec | None:
        for app in self.registry.values():
            if app.workload == "flagger-canary" and app.namespace == namespace and (app.object or app.name) == name \
                    and (not cluster or cluster in app.clusters):
                wanted = self.tokens.get(app.name, "")
                return app if wanted and hmac.compare_digest(wanted.encode(), token.encode()) else None
        return None

    def _holding(self, app: AppSpec) -> str:
        """Why the machine's gates are closed now ("" when they are open)."""
        release = self.store.active_for(app.name)
        if release is None:
            return f"no graybot release of {app.name} is running"
        if release.phase not in (Phase.PROGRESSING, Phase.WAITING):
            return f"graybot's release of {app.name} is {release.phase}"
        held = self.held(app.name)
        return f"{app.name} is frozen: {held[1]}" if isinstance(held, tuple) else ""
