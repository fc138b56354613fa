"""Ack latency of `graybot serve` under concurrent signed requests, measured as Slack sees it.

graybot runs as its own process (with the sandbox cluster as another, a private redis-server and
the fake Slack Web API, served from this process); the load comes from another process. In the same run, the same load goes to
an ack-only Bolt app on the same HTTP stack (bench/ackonly.py), the reference: absolute times on
these machines move, the ratio is the figure.

    .venv/bin/python -m bench.ack_latency [--rounds 40] [--concurrency 50] [--socket] [--durable-reference]

With --durable-reference, a second reference runs: the same ack-only app writing each request to the
same Redis (one XADD) before its ack, the floor of any design that keeps what it acked.

With --socket, a `graybot socket` process also runs (same Redis and cluster), and the same status
commands go to it as Socket Mode envelopes over the fake Slack's WebSocket: the figure is the time
from the server sending an envelope to it receiving the ack, printed beside the HTTP figures.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import redis
import urllib3

from bot.adapters import keys
from sandbox.slack import (FakeSlack, block_action_body, signature_headers, slash_command_body,
                           slash_command_payload)
from tests.conftest import start_redis
from tests.kit.processes import children
from tests.kit.wait import free_port, wait_until

SECRET = "bench-secret"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def fire(http: urllib3.PoolManager, url: str, bodies: list[str], concurrency: int) -> list[float]:
    def one(body: str) -> float:
        headers = dict(signature_headers(SECRET, body), **{"Content-Type": "application/x-www-form-urlencoded"})
        started = time.perf_counter()
        try:
            resp = http.request("POST", url + "/slack/events", body=body.encode(), headers=headers, retries=False)
        except urllib3.exceptions.ProtocolError:
            # a kept-alive connection the server closed (idle past its 15 s) just as this request
            # went out on it: the load's artefact, not the server's time; again on a new connection
            started = time.perf_counter()
            resp = http.request("POST", url + "/slack/events", body=body.encode(), headers=headers, retries=False)
        elapsed = time.perf_counter() - started
        assert resp.status == 200, resp.status
        return elapsed
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, bodies))


_LOAD_HTTP: urllib3.PoolManager | None = None


def fire_apart(url: str, bodies: list[str], concurrency: int) -> list[float]:
    """`fire`, run in the load process (a ProcessPoolExecutor of one): the load's threads share no
    GIL with the fake Slack, which serves graybot's replies in this process."""
    global _LOAD_HTTP
    _LOAD_HTTP = _LOAD_HTTP or urllib3.PoolManager(maxsize=concurrency)
    return fire(_LOAD_HTTP, url, bodies, concurrency)


def fire_envelopes(slack: FakeSlack, payloads: list[dict], concurrency: int) -> list[float]:
    """Envelopes sent at once over the socket; each one's send -> ack time, as Slack measures it."""
    def one(payload: dict) -> float:
        envelope = slack.socket.wait_ack(slack.socket.send("slash_commands", payload), timeout=10)
        return envelope.ack_seconds
    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, payloads))


def up(http: urllib3.PoolManager, url: str) -> bool:
    try:
        return http.request("GET", url + "/healthz", timeout=1, retries=False).status == 200
    except urllib3.exceptions.HTTPError:
        return False


def spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def stop_all(procs: list[subprocess.Popen], slack: FakeSlack, redis_proc: subprocess.Popen) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    slack.stop()
    redis_proc.terminate()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(name: str, values: list[float]) -> str:
    return (f"{name:28s} n={len(values):4d}  p50={pct(values, .5) * 1000:6.1f} ms  p99={pct(values, .99) * 1000:6.1f} ms"
            f"  max={max(values) * 1000:6.1f} ms  mean={statistics.mean(values) * 1000:5.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first, for both apps")
    parser.add_argument("--socket", action="store_true", help="also measure Socket Mode envelope acks")
    parser.add_argument("--durable-reference", action="store_true",
                        help="also measure the reference writing each request to the same Redis before its ack")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="graybot-bench-"))
    redis_proc, redis_url = start_redis(tmp)
    slack = FakeSlack(socket_mode=args.socket).start()
    kube_port, bot_port, ref_port, durable_port = free_port(), free_port(), free_port(), free_port()
    env = dict(os.environ, KUBECONFIG=str(tmp / "kubeconfig"), REDIS_URL=redis_url, GRAYBOT_CONFIG=str(tmp / "apps.yaml"),
               SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN="xoxb-bench", SLACK_API_URL=slack.url)
    procs = [spawn(["bot.cli", "sandbox", "--seed", "demo", "--port", str(kube_port), "--kubeconfig",
                    str(tmp / "kubeconfig"), "--ready-delay", "0.2", "--traffic-rps", "0"], env, tmp / "sandbox.log")]
    http = urllib3.PoolManager(maxsize=args.concurrency)
    procs_pool: list[ProcessPoolExecutor] = []
    try:
        wait_until(lambda: (tmp / "apps.yaml").exists(), timeout=30, message="sandbox up")
        procs.append(spawn(["bot.cli", "serve", "--host", "127.0.0.1", "--port", str(bot_port)], env, tmp / "bot.log"))
        procs.append(spawn(["bench.ackonly", "--port", str(ref_port), "--secret", SECRET], env, tmp / "ref.log"))
        targets = {"graybot": f"http://127.0.0.1:{bot_port}", "reference": f"http://127.0.0.1:{ref_port}"}
        durable = None
        if args.durable_reference:
            durable = spawn(["bench.ackonly", "--port", str(durable_port), "--secret", SECRET, "--durable", redis_url],
                            env, tmp / "durable.log")
            procs.append(durable)
            targets["durable reference"] = f"http://127.0.0.1:{durable_port}"
        bot = targets["graybot"]
        wait_until(lambda: all(up(http, url) for url in targets.values()), timeout=60, message="bot and references up")
        if args.socket:
            procs.append(spawn(["bot.cli", "socket", "--host", "127.0.0.1", "--port", str(free_port())],
                               dict(env, SLACK_APP_TOKEN="xapp-1-bench"), tmp / "socket.log"))
            slack.socket.wait_connected(1, timeout=60)
        fire(http, bot, [slash_command_body("canary user-v2 10%", "U0ALICE")], 1)
        msg = wait_until(lambda: next((m for m in slack.channel("C0RELEASE") if "thread_ts" not in m and any(
            e.get("action_id") == "approve" for b in m.get("blocks", []) for e in b.get("elements") or [])), None),
            timeout=60, message="live message with buttons")
        value = next(e["value"] for b in msg["blocks"] for e in b.get("elements") or [] if e.get("action_id") == "approve")
        load_process = ProcessPoolExecutor(1)
        procs_pool.append(load_process)
        load_process.submit(os.getpid).result()     # the load process exists, at normal priority ...
        # ... and this one, which serves the fake Slack, yields to it and to graybot: Slack's servers
        # are not on graybot's machine in production (the reference makes no Slack calls at all)
        os.nice(19)

        store = redis.Redis.from_url(redis_url, decode_responses=True)

        # CPU spent while each burst is answered, per request: graybot's edge (the acks) and its
        # worker (what runs after them), beside the reference's
        pids = {"edge": children(procs[1].pid)[0], "worker": procs[1].pid, "reference": procs[2].pid}
        if durable is not None:
            pids["durable reference"] = durable.pid
        cpu = {(who, kind): 0.0 for who in pids for kind in ("status", "click")}

        def load(url: str, bodies: list[str], kind: str, measured: bool) -> list[float]:
            # each burst starts on a quiet machine: graybot's work behind the previous burst (its
            # replies, carried out after the ack) is done, so it weighs on graybot's own burst only
            wait_until(lambda: store.xlen(keys.inbox()) == 0, timeout=60, message="graybot's work done")
            time.sleep(0.2)
            before = {who: cpu_seconds(pid) for who, pid in pids.items()}
            took = load_process.submit(fire_apart, url, bodies, n).result()
            for who, pid in pids.items():
                cpu[who, kind] += (cpu_seconds(pid) - before[who]) / len(bodies) if measured else 0.0
            return took
        names = [f"{who} {kind}" for kind in ("status", "click") for who in targets]
        n, results = args.concurrency, {k: [] for k in names + (["graybot socket status"] if args.socket else [])}
        for r in range(-args.warmup, args.rounds):
            status = [slash_command_body("status user", f"U0B{r:02d}{i:03d}") for i in range(n)]
            # the same (soon spent) button from n people: every click must still be acked at once
            clicks = [block_action_body("approve", value, f"U0B{r:02d}{i:03d}", "C0RELEASE", msg["ts"]) for i in range(n)]
            on = r >= 0
            measured = {f"{who} {kind}": load(url, bodies, kind, on)
                        for kind, bodies in (("status", status), ("click", clicks)) for who, url in targets.items()}
            if args.socket:
                payloads = [slash_command_payload("status user", f"U0S{r:02d}{i:03d}") for i in range(n)]
                measured["graybot socket status"] = fire_envelopes(slack, payloads, n)
            for name, values in measured.items():
                results[name] += values if r >= 0 else []
        print(f"{n} concurrent signed requests, {args.rounds} rounds after {args.warmup} unmeasured; "
              "graybot and the ack-only reference" + (" (and the durable one)" if args.durable_reference else "")
              + " in turn")
        for name, values in results.items():
            print(report(name, values))
        for kind in ("status", "click"):
            g, ref_values = results[f"graybot {kind}"], results[f"reference {kind}"]
            print(f"{kind}: graybot p99 / reference p99 = {pct(g, .99) / pct(ref_values, .99):.2f}x;  CPU per request "
                  "while the bursts were answered: " + ", ".join(
                      f"{who} {cpu[who, kind] / args.rounds * 1000:.2f} ms" for who in pids))
            if args.durable_reference:
                floor = results[f"durable reference {kind}"]
                print(f"{kind}: graybot p99 / durable reference p99 = {pct(g, .99) / pct(floor, .99):.2f}x")
        if args.socket:
            print("socket status: envelope send -> ack received, at the fake Slack's WebSocket server")
    finally:
        for pool in procs_pool:
            pool.shutdown(cancel_futures=True)
        stop_all(procs, slack, redis_proc)


if __name__ == "__main__":
    main()
