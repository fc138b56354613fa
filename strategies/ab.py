"""A/B: only requests matching a header or cookie reach the new version (a router that can match
requests: nginx or Istio); approvals then continue as a weighted canary."""
from __future__ import annotations

import math

from bot.workloads import Workload
from bot.domain.model import Stage
from bot.domain.names import MATCHING_ROUTERS
from bot.language.grammar import StartCommand

from .base import Plan, PlanError, Target
from .canary import Canary, match_text


class AB(Canary):
    """Only requests matching a header or cookie reach the new version; approvals then
    continue as a weighted canary (`--steps`), or straight to 100% with `--full`."""
    name = "ab"

    def _router_name(self, target: Target, cmd: StartCommand) -> str:
        name = cmd.router or target.app.router
        if name not in MATCHING_ROUTERS:
            raise PlanError(f"A/B needs a router that can match requests: set `router:` to one of "
                            f"{', '.join(MATCHING_ROUTERS)} for {target.app.name} in apps.yaml, or add "
                            f"--router {'|'.join(MATCHING_ROUTERS)}")
        return name

    def plan(self, workload: Workload, target: Target, cmd: StartCommand) -> Plan:
        plan = super().plan(workload, target, cmd)
        n = target.replicas
        rule = match_text({"kind": cmd.match.kind, "name": cmd.match.name, "value": cmd.match.value})
        first = Stage(f"A/B {rule}"[:60], 0, max(1, math.ceil(n * 10 / 100)), n,
                      f"only requests with {rule} reach {target.to_version}; everyone else stays "
                      f"on {target.from_version}")
        return Plan((first,) + plan.stages, plan.new_name, plan.origin)
