"""A Redis master with one replica in sync, two real redis-server processes: for the writes that
wait for a replica (`WAIT 1`, bot/adapters/replicas.py). The replica can be frozen (SIGSTOP), a
replica that does not answer; everything is stopped on the way out."""
from __future__ import annotations

import signal
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import redis

from tests.conftest import start_redis

from .wait import wait_until


@dataclass
class Replicated:
    master_url: str
    master: redis.Redis
    replica: redis.Redis
    replica_proc: subprocess.Popen

    def freeze_replica(self) -> None:
        self.replica_proc.send_signal(signal.SIGSTOP)


@contextmanager
def master_with_replica(workdir: Path) -> Iterator[Replicated]:
    (workdir / "m").mkdir()
    (workdir / "r").mkdir()
    master_proc, master_url = start_redis(workdir / "m")
    replica_proc, replica_url = start_redis(workdir / "r")
    try:
        master = redis.Redis.from_url(master_url, decode_responses=True)
        replica = redis.Redis.from_url(replica_url, decode_responses=True)
        replica.execute_command("REPLICAOF", "127.0.0.1", master.connection_pool.connection_kwargs["port"])
        wait_until(lambda: replica.info("replication").get("master_link_status") == "up"
                   and master.info("replication")["connected_slaves"] == 1, message="replica in sync")
        yield Replicated(master_url, master, replica, replica_proc)
    finally:
        replica_proc.send_signal(signal.SIGCONT)
        for proc in (master_proc, replica_proc):
            proc.kill()
            proc.wait(10)
