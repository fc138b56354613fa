"""graybot's own Prometheus metrics (prometheus-client), served on GET /metrics."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.domain.names import OBSERVED, SCHEDULER

REGISTRY = CollectorRegistry()        # the worker's: what happens after the ack
EDGE_REGISTRY = CollectorRegistry()   # the ack path's, served by whichever process acks
ACK_SECONDS = Histogram("graybot_ack_seconds", "Time from receiving a Slack request to its ack",
                        ["kind"], registry=EDGE_REGISTRY,
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
TRANSITIONS = Counter("graybot_transitions_total", "Saved release state changes", ["event"],
                      registry=REGISTRY)
ROLLBACKS = Counter("graybot_rollbacks_total", "Rollbacks started, by cause", ["cause"], registry=REGISTRY)
GATE_EVALUATIONS = Counter("graybot_gate_evaluations_total", "Gate evaluations by gate and result",
                           ["gate", "result"], registry=REGISTRY)
CLUSTER_ERRORS = Counter("graybot_cluster_errors_total", "Cluster steps that failed (told in the thread)",
                         registry=REGISTRY)
ACTIVE = Gauge("graybot_active_releases", "Releases not yet finished", registry=REGISTRY)
CLUSTER_UP = Gauge("graybot_cluster_reachable", "1 while the cluster's last call reached its API server",
                   ["cluster"], registry=REGISTRY)
LEADER = Gauge("graybot_leader", "1 in the process that leads (runs the timers, watches and driver)",
               registry=REGISTRY)
TIMERS_OVERDUE = Gauge("graybot_timers_overdue", "Timers (a step, an approval timeout) due over a minute ago "
                       "and not yet fired; set by the leader", registry=REGISTRY)
INBOX_PENDING = Gauge("graybot_inbox_pending", "Requests acked to the chat platform and not yet carried out",
                      registry=REGISTRY)
CHAT_ERRORS = Counter("graybot_chat_errors_total", "Chat platform API calls that failed, by call",
                      ["call"], registry=REGISTRY)


def record_change(event: str, actor: str) -> None:
    """A saved change, by its event; a rollback by its cause (a person, an approval that timed
    out, a failed gate)."""
    if event in ("cluster_error", "cluster_ok", OBSERVED):       # notices, not state changes
        if event == "cluster_error":
            CLUSTER_ERRORS.inc()
        return
    TRANSITIONS.labels(event=event).inc()
    if event == "rollback":
        ROLLBACKS.labels(cause="approval_timeout" if actor == SCHEDULER else "manual").inc()
    elif event == "gate_failed":
        ROLLBACKS.labels(cause="gate").inc()


def exposition(part: str = "all") -> bytes:
    """`part`: "core" (the worker's), "edge" (the ack path's) or "all" (one process does both)."""
    return (generate_latest(REGISTRY) if part != "edge" else b"") + \
        (generate_latest(EDGE_REGISTRY) if part != "core" else b"")
