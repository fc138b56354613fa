"""The names people type and apps.yaml holds: one list each, read by the grammar, the config
checker and the factories (strategies.build, strategies.routers.build_router, bot.gates.build)."""
from __future__ import annotations

import re

STRATEGIES = ("canary", "ab", "bluegreen", "rolling", "recreate", "batch")
ROUTERS = ("replicas", "gateway", "nginx", "istio")
MATCHING_ROUTERS = ("gateway", "nginx", "istio")  # routers that can send requests by header/cookie
STICKY_ROUTERS = ("gateway", "istio")             # routers that can keep a visitor on one version
MIRROR_ROUTERS = ("gateway", "istio")             # routers that can copy requests to a shadow
PROVIDERS = ("prometheus", "datadog", "web")    # metric providers of the metric gates
DEFAULT_PROVIDER = "prometheus"
# what people type -> the verb it means (aliases included)
VERBS = {"approve": "approve", "promote": "approve", "pause": "pause", "resume": "resume",
         "rollback": "rollback", "abort": "rollback", "continue": "continue"}
WORKLOADS = ("deployment", "argo-rollout", "flagger-canary", "kruise-rollout")   # apps.yaml `workload:`
FLAGGER_HOOKS = ("confirm-rollout", "confirm-traffic-increase", "confirm-promotion", "rollback")
GATE_CHART = "gate_chart"  # a notice to listeners: a metric gate decided; detail is its chart's data (JSON)
OBSERVED = "observed"      # a notice to listeners: a controller moved the release's object; nothing was saved
CONTROLLER_STRATEGY = "controller"   # what a release of such a kind is planned with (strategies/controlled.py)
QUERIES = ("status", "list", "history", "help", "gitops-diff", "audit", "mute", "unmute")

# how a person, group or channel may be named in apps.yaml, whatever the chat platform (each edge
# checks its own shape at start: handlers/access.py for Slack)
IDENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,79}$")
IDS_PROBLEM = "must be a list of IDs (users, groups or channels, as the chat platform writes them)"

# who acts when no person does (audit entries, thread replies)
GRAYBOT = "graybot"
SCHEDULER = "scheduler"
