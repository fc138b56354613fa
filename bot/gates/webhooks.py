"""Webhook gates (Flagger-style): graybot POSTs the release as JSON to each of an app's hooks for
a moment of the release (apps.yaml `webhooks:`): `pre-rollout` before anything changes (a go/no-go
check), `pre-promotion` before each later stage with the previous stage's pods serving (smoke or
load tests against `APP-VERSION`), `post-rollout` after success, `rollback` after a rollback, and
`gitops` after the success of a GitOps-managed app, with `handback`: what Git must now hold.
A 2xx passes; any other answer fails with its first line as evidence (a redirect is not
followed: it fails naming its Location); no whole answer within the hook's timeout is
inconclusive (the release pauses and a person decides). The evidence names the hook by scheme,
host and path only (bot/adapters/outbound.py)."""
from __future__ import annotations

import json

from bot.adapters.outbound import Unanswered, call, shown
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
        where = f"{kind} webhook {shown(hook.url)}"
        try:
            answer = call(hook.url, hook.timeout, method="POST", body=body,
                          headers={"Content-Type": "application/json"})
        except Unanswered as err:
            return Verdict(INCONCLUSIVE if err.timed_out else FAIL, f"{kind} webhook {err}")
        if 200 <= answer.status < 300:
            return Verdict(PASS, f"{where}: {answer.status}")
        if 300 <= answer.status < 400:
            return Verdict(FAIL, f"{where} answered {answer.status}, a redirect to {shown(answer.location)}; "
                                 "gate calls do not follow redirects: point the hook at its final URL")
        return Verdict(FAIL, f"{where} answered {answer.status}: {_first_line(answer.body)}")

    def run(self, kind: str, hooks: tuple[Webhook, ...], release: Release, extra: dict | None = None) -> Verdict:
        """Every hook in turn; the first that does not pass decides."""
        said = []
        for hook in hooks:
            verdict = self.call(hook, kind, release, extra)
            if verdict.result != PASS:
                return verdict
            said.append(verdict.evidence)
        return Verdict(PASS, "; ".join(said))
