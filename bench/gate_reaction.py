"""How fast a failing canary is rolled back: from the first failing pod event (the new pod's
first restart / CrashLoopBackOff, seen on an independent watch) to the decision (gate_failed
saved in Redis) and to the rollback applied on the cluster (the new Deployment deleted; at
10% the stable never shrank, because the canary never became healthy).

Compared with Flagger's reaction time, interval x threshold: its schedule interval defaults to
60 s and its documented analyses use threshold 5, i.e. 300 s before a rollback starts.

    .venv/bin/python -m bench.gate_reaction [--runs 7]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import redis
from kubernetes import config

from bot.adapters.kube import Kube
from bot.runtime.driver import Driver
from bot.runtime.runner import health_watcher
from sandbox.cluster import Sandbox
from sandbox.pods import Timing
from tests.conftest import start_redis
from tests.kit.world import build_world

FLAGGER_SECONDS = 60 * 5


def one_run(tmp: Path, url: str) -> tuple[float, float]:
    sandbox = Sandbox(timing=Timing(ready_delay=0.2, restart_every=1.0, tick=0.02)).start()
    sandbox.kubeconfig = sandbox.write_kubeconfig(tmp / "kubeconfig")
    api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    conn = redis.Redis.from_url(url, decode_responses=True)
    conn.flushall()
    w = build_world(sandbox, api, conn, tmp)
    while (w.kube.deployment("default", "user-v1").get("status") or {}).get("readyReplicas") != 10:
        time.sleep(0.05)
    marks: dict[str, float] = {}
    stop = threading.Event()

    def on_pod(kind, pod):
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            if "broken" in cs.get("image", "") and cs.get("restartCount", 0) >= 1:
                marks.setdefault("first_failure", time.time())

    def on_deploy(kind, deploy):
        name = deploy["metadata"]["name"]
        if "first_failure" not in marks:
            return
        if name == "user-broken" and kind == "DELETED":
            marks.setdefault("new_removed", time.time())
    observer = Kube(api)
    for plural, fn in (("pods", on_pod), ("deployments", on_deploy)):
        threading.Thread(target=observer.watch, args=(plural, "default", fn, stop), daemon=True).start()
    driver = Driver(w.engine, period=1.0).start()
    watcher = health_watcher(w.engine, driver.wake).start()
    try:
        release = w.start("canary user-broken 10%")
        deadline = time.monotonic() + 60
        while "new_removed" not in marks and time.monotonic() < deadline:
            time.sleep(0.01)
        decided = next(float(e["at"]) for e in w.store.audit(release.id) if e["action"] == "gate_failed")
        return decided - marks["first_failure"], marks["new_removed"] - marks["first_failure"]
    finally:
        stop.set()
        watcher.stop()
        driver.stop()
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="graybot-bench-"))
    proc, url = start_redis(tmp)
    try:
        results = [one_run(tmp, url) for _ in range(args.runs)]
    finally:
        proc.terminate()
    decided = statistics.median(r[0] for r in results)
    applied = statistics.median(r[1] for r in results)
    print(f"runs: {args.runs}")
    print(f"first failing pod event -> gate_failed saved:       median {decided * 1000:.0f} ms")
    print(f"first failing pod event -> rollback applied (new Deployment deleted): median "
          f"{applied * 1000:.0f} ms (min {min(r[1] for r in results) * 1000:.0f}, "
          f"max {max(r[1] for r in results) * 1000:.0f})")
    print(f"Flagger default reaction (interval 60 s x threshold 5): {FLAGGER_SECONDS} s; "
          f"graybot is {FLAGGER_SECONDS / applied:.0f}x faster (ratio {applied / FLAGGER_SECONDS:.5f})")


if __name__ == "__main__":
    main()
