"""Webhook gates (Flagger-style): graybot POSTs the release as JSON to each of an app's hooks for
a moment of the release (apps.yaml `webhooks:`): `pre-rollout` before anything changes (a go/no-go
check), `pre-promotion` before each later stage with the previous stage's pods serving (smoke or
load tests against `APP-VERSION`), `post-rollout` after success, `rollback` after a rollback, and
`gitops` after the success of a GitOps-managed app, with `handback`: what Git must now hold.
A 2xx passes; any other answer fails with its first line as evidence; no answer within the
hook's timeout is inconclusive (the release pauses and a person decides). Stdlib HTTP."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

from bot.domain.model import Release
from bot.domain.rules import Webhook

from . import FAIL, INCONCLUSIVE, PASS, Verdict


def payload(kind: str, release: Release, cluster: str) -> dict:
    stage = release.current
    return {"kind": kind, "release": release.id, "app": release.app, "namespace": release.namespace,
            "cluster": cluster, "strategy": release.strategy, "from_version": release.from_version,
            "to_version": release.to_version, "image": release.image, "phase": release.phase.value,
            "stage": {"index": release.stage, "name": stage.name, "weight": stage.weight},
            "wave": {"index": release.wave, "of": len(release.waves)} if release.in_waves else None}


def _first_line(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    try:                               # a JSON error body: its message, not its braces
        doc = json.loads(text)
        text = str(doc.get("error") or doc.get("message") or text) if isinstance(doc, dict) else text
    except ValueError:
        pass
    return (text.splitlines() or [""])[0][:300]


class WebhookGate:
    def __init__(self, cluster: str = "default"):
        self.cluster = cluster

    def call(self, hook: Webhook, kind: str, release: Release, extra: dict | None = None) -> Verdict:
        body = json.dumps(dict(payload(kind, release, release.cluster or self.cluster), **(extra or {}))).encode()
        req = urllib.request.Request(hook.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "graybot"})
        try:
            with urllib.request.urlopen(req, timeout=hook.timeout) as resp:
                return Verdict(PASS, f"{kind} webhook {hook.url}: {resp.status}")
        except urllib.error.HTTPError as err:
            return Verdict(FAIL, f"{kind} webhook {hook.url} answered {err.code}: {_first_line(err.read())}")
        except (TimeoutError, socket.timeout):
            return Verdict(INCONCLUSIVE, f"{kind} webhook {hook.url} did not answer within {hook.timeout}s")
        except urllib.error.URLError as err:
            if isinstance(err.reason, (TimeoutError, socket.timeout)):
                return Verdict(INCONCLUSIVE, f"{kind} webhook {hook.url} did not answer within {hook.timeout}s")
            return Verdict(FAIL, f"{kind} webhook {hook.url} could not be reached: {err.reason}")

    def run(self, kind: str, hooks: tuple[Webhook, ...], release: Release, extra: dict | None = None) -> Verdict:
        """Every hook in turn; the first that does not pass decides."""
        said = []
        for hook in hooks:
            verdict = self.call(hook, kind, release, extra)
            if verdict.result != PASS:
                return verdict
            said.append(verdict.evidence)
        return Verdict(PASS, "; ".join(said))
