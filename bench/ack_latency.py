"""Ack latency of graybot's HTTP endpoint under 50 concurrent signed requests.

Measures the time from sending a request to receiving its HTTP response (Slack's 3 s ack
clock) for `/release status user` and for a button click, p50/p99 over several rounds, with
the sandbox cluster, a private redis-server and the fake Slack Web API on loopback.

    .venv/bin/python -m bench.ack_latency [--rounds 5] [--concurrency 50]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import urllib3
from kubernetes import config

from sandbox.cluster import Sandbox
from sandbox.pods import Timing
from sandbox.slack import block_action_body, signature_headers, slash_command_body
from tests.conftest import start_redis
from tests.kit.slack import SECRET, start_slack_world, stop_slack_world


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _fire(sw, bodies: list[str], concurrency: int) -> list[float]:
    http = urllib3.PoolManager(maxsize=concurrency)

    def one(body: str) -> float:
        headers = dict(signature_headers(SECRET, body), **{"Content-Type": "application/x-www-form-urlencoded"})
        started = time.perf_counter()
        resp = http.request("POST", sw.url + "/slack/events", body=body.encode(), headers=headers)
        elapsed = time.perf_counter() - started
        assert resp.status == 200, resp.status
        return elapsed
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, bodies))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="graybot-bench-"))
    proc, url = start_redis(tmp)
    sandbox = Sandbox(timing=Timing(ready_delay=0.2, tick=0.05)).start()
    sandbox.kubeconfig = sandbox.write_kubeconfig(tmp / "kubeconfig")
    api = config.new_client_from_config(config_file=str(sandbox.kubeconfig))
    conn = redis.Redis.from_url(url, decode_responses=True)
    sw = start_slack_world(sandbox, api, conn, tmp)
    try:
        sw.command("canary user-v2 10%")
        msg = sw.wait_buttons("approve", "pause", "rollback")
        value = sw.buttons(msg)["approve"]["value"]
        n = args.concurrency
        status, clicks = [], []
        for _ in range(args.rounds):
            status += _fire(sw, [slash_command_body("status user", f"U0B{i:03d}") for i in range(n)], n)
            # a stale-free click each time would move the release; the same (soon spent) button
            # is what 50 people double-clicking send: every one must still be acked at once
            clicks += _fire(sw, [block_action_body("approve", value, f"U0B{i:03d}", "C0RELEASE", msg["ts"])
                                 for i in range(n)], n)
            time.sleep(0.5)
        for name, values in (("/release status", status), ("button click", clicks)):
            print(f"{name:16s} n={len(values):4d}  p50={_pct(values, .5) * 1000:7.1f} ms  "
                  f"p99={_pct(values, .99) * 1000:7.1f} ms  max={max(values) * 1000:7.1f} ms  "
                  f"mean={statistics.mean(values) * 1000:6.1f} ms")
    finally:
        stop_slack_world(sw)
        sandbox.stop()
        proc.terminate()


if __name__ == "__main__":
    main()
