"""The leader's audit duties: deliver every audit entry to `audit.webhook` (in order, signed,
retried with backoff until it answers 2xx; an entry leaves the outbox only then), and forget
the trails of finished releases older than `audit.retention`.

The signature, for the receiver to check: `X-Graybot-Signature: v1=HEX`, HEX being
HMAC-SHA256(GRAYBOT_AUDIT_SECRET, "v1:" + X-Graybot-Timestamp + ":" + body)."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

from bot.adapters import outbound
from bot.adapters.auditlog import AuditLog
from bot.domain.audit import AuditSpec

from .lifecycle import Loop

log = logging.getLogger("graybot.audit")
IDLE = 5.0               # seconds between looks at an empty outbox (a saved change wakes it sooner)
MAX_BACKOFF = 300.0
PRUNE_EVERY = 3600.0


def signature(secret: str, stamp: str, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), b"v1:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()


class AuditSink(Loop):
    name = "audit-sink"

    def __init__(self, trail: AuditLog, spec: AuditSpec, secret: str, first_retry: float = 1.0):
        super().__init__(IDLE)
        self.trail, self.spec, self.secret, self.first_retry = trail, spec, secret, first_retry
        self.failures = 0
        self._pruned_at = 0.0

    def step(self) -> float:
        self._prune()
        if not self.spec.webhook:
            return PRUNE_EVERY
        batch = self.trail.undelivered()
        for outbox_id, entry in batch:
            if not self._deliver(entry):
                self.failures += 1
                return min(MAX_BACKOFF, self.first_retry * 2 ** (self.failures - 1))
            self.failures = 0
            self.trail.delivered(outbox_id)
        return 0.0 if batch else IDLE

    def _deliver(self, entry: dict) -> bool:
        body = json.dumps(entry, sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Graybot-Timestamp": stamp,
                   "X-Graybot-Signature": signature(self.secret, stamp, body)}
        try:
            answer = outbound.call(self.spec.webhook, self.spec.timeout, "POST", body, headers)
        except outbound.Unanswered as exc:
            log.warning("audit webhook %s: %s", outbound.shown(self.spec.webhook), exc)
            return False
        if 200 <= answer.status < 300:
            return True
        log.warning("audit webhook %s answered %d", outbound.shown(self.spec.webhook), answer.status)
        return False

    def _prune(self) -> None:
        now = time.time()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        gone = self.trail.prune(now - self.spec.retention)
        if gone:
            log.info("audit retention: forgot %d finished release(s) started over %d days ago",
                     len(gone), self.spec.retention // 86400)
