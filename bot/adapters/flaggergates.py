"""Flagger's gates as graybot keeps them in Redis: which gate of which revision a person opened
(`CHECKSUM/HOOK` in a set per canary), and the last request Flagger made of each gate (to show
where it waits and to know which revision an approval is for).

A place is CLUSTER/NAMESPACE/CANARY: the same Canary in two clusters has two sets of gates. An
opened gate stays open for that revision only: Flagger's checksum changes with every new template,
so a new revision waits again (the loadtester's gates, keyed by name alone, would let it through).
Keys expire KEEP seconds after their last write, so canaries that are gone leave nothing behind."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

from . import keys
from .replicas import Replicas

KEEP = 30 * 86400


def place(cluster: str, namespace: str, canary: str) -> str:
    return f"{cluster}/{namespace}/{canary}"


@dataclass(frozen=True)
class Asked:
    hook: str
    checksum: str
    phase: str            # the phase Flagger sent (Progressing for confirm-traffic-increase and -promotion)
    at: float             # when (epoch seconds)


class FlaggerGates:
    def __init__(self, conn, replicas: Replicas | None = None):
        self.r = conn
        self.replicas = replicas or Replicas(conn)

    def ask(self, where: str, hook: str, checksum: str, phase: str) -> bool:
        """Record Flagger's request and answer it: is this revision's gate open?"""
        record = json.dumps({"checksum": checksum, "phase": phase, "at": round(time.time(), 3)})
        pipe = self.r.pipeline()
        pipe.hset(keys.flagger_asked(where), hook, record)
        pipe.expire(keys.flagger_asked(where), KEEP)
        pipe.sismember(keys.flagger_open(where), f"{checksum}/{hook}")
        return bool(pipe.execute()[-1])

    def asked(self, where: str) -> dict[str, Asked]:
        """The last request of each gate, by hook."""
        return {hook.decode() if isinstance(hook, bytes) else hook: Asked(
                    hook if isinstance(hook, str) else hook.decode(), **json.loads(raw))
                for hook, raw in (self.r.hgetall(keys.flagger_asked(where)) or {}).items()}

    def open(self, where: str, checksum: str, hook: str) -> None:
        """Open `hook` for the revision `checksum`; kept by a replica before anyone is told."""
        pipe = self.r.pipeline()
        pipe.sadd(keys.flagger_open(where), f"{checksum}/{hook}")
        pipe.expire(keys.flagger_open(where), KEEP)
        pipe.execute()
        self.replicas.confirm(f"flagger gate {where} {hook}")

    def is_open(self, where: str, checksum: str, hook: str) -> bool:
        return bool(self.r.sismember(keys.flagger_open(where), f"{checksum}/{hook}"))
