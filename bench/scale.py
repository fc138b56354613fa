"""Many canaries at once, as a platform team's release day: N apps of 4 pods (`graybot sandbox
--seed fleet:N`, its own process), `graybot serve` as its own process, and N signed
`/release canary APP-v2 25%` commands from this process. Prints the time from the last command's
ack to all N releases waiting at stage 1 with their Approve buttons posted, the Kubernetes API
requests per second while they all wait (counted at the sandbox), the Slack Web API calls per
minute, and the bot's CPU time and resident memory.

    .venv/bin/python -m bench.scale [--apps 50 200 500]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import urllib3

from bench.ack_latency import SECRET, fire, spawn, stop_all, up
from sandbox.slack import FakeSlack, slash_command_body
from tests.conftest import start_redis
from tests.kit.processes import children
from tests.kit.wait import free_port, wait_until

CLOCK = os.sysconf("SC_CLK_TCK")
IDLE = 20.0             # seconds of measuring while every release waits for its approval


def redis_commands(url: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).info("stats")["total_commands_processed"])


def command_stats(url: str) -> dict[str, int]:
    import redis

    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in redis.Redis.from_url(url).info("commandstats").items()}


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, resident KiB) of graybot: the process and its children (the edge process)."""
    cpu, rss = 0.0, 0
    for each in [pid] + children(pid):
        try:
            fields = open(f"/proc/{each}/stat").read().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / CLOCK
            rss += next(int(line.split()[1]) for line in open(f"/proc/{each}/status") if line.startswith("VmRSS"))
        except OSError:          # a child that just ended
            continue
    return cpu, rss


def profile(pid: int, out: Path, seconds: int) -> subprocess.Popen | None:
    """py-spy (pip install py-spy) sampling the worker while the releases reach stage 1."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("--profile needs py-spy: .venv/bin/pip install py-spy")
        return None
    return subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(seconds), "--nonblocking", "--gil",
                             "-f", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def with_approve(slack: FakeSlack) -> int:
    return sum(1 for m in slack.channel("C0RELEASE") if "thread_ts" not in m and any(
        e.get("action_id") == "approve" for b in m.get("blocks", []) for e in b.get("elements") or []))


def hotspots(raw: Path, top: int = 25) -> str:
    """The functions most often on the stack while holding the GIL (inclusive), from py-spy's raw output."""
    counts: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        for frame in {f.split(" (")[0] + " " + f.split("(")[-1].split(":")[0].rsplit("/", 1)[-1]
                      for f in stack.split(";")}:
            counts[frame] = counts.get(frame, 0) + int(n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return "\n".join(f"{100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in ranked)


def one_run(n: int, timeout: float, profile_to: Path | None = None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"graybot-scale-{n}-"))
    redis_proc, redis_url = start_redis(tmp)
    slack = FakeSlack().start()
    kube_port, bot_port = free_port(), free_port()
    env = dict(os.environ, KUBECONFIG=str(tmp / "kubeconfig"), REDIS_URL=redis_url, GRAYBOT_CONFIG=str(tmp / "apps.yaml"),
               SLACK_SIGNING_SECRET=SECRET, SLACK_BOT_TOKEN="xoxb-bench", SLACK_API_URL=slack.url)
    procs = [spawn(["bot.cli", "sandbox", "--seed", f"fleet:{n}", "--port", str(kube_port), "--kubeconfig",
                    str(tmp / "kubeconfig"), "--ready-delay", "0.5", "--traffic-rps", "0"], env, tmp / "sandbox.log")]
    http = urllib3.PoolManager(maxsize=20)
    kube = f"http://127.0.0.1:{kube_port}"
    try:
        wait_until(lambda: (tmp / "apps.yaml").exists(), timeout=120, message="sandbox up")
        bot_proc = spawn(["bot.cli", "serve", "--host", "127.0.0.1", "--port", str(bot_port)], env, tmp / "bot.log")
        procs.append(bot_proc)
        bot = f"http://127.0.0.1:{bot_port}"
        wait_until(lambda: up(http, bot), timeout=60, message="bot up")
        cpu0, _ = proc_stats(bot_proc.pid)
        sandbox_cpu0 = proc_stats(procs[0].pid)[0]
        stats0 = http.request("GET", kube + "/sandbox/stats").json()
        api0 = stats0["requests"]
        cmds0, cmdstats0 = redis_commands(redis_url), command_stats(redis_url)
        spy = profile(bot_proc.pid, profile_to, 30) if profile_to else None
        started = time.monotonic()
        bodies = [slash_command_body(f"canary app-{i:03d}-v2 25%", f"U0S{i:04d}") for i in range(n)]
        with ThreadPoolExecutor(4) as pool:      # people type; a few at a time is plenty
            list(pool.map(lambda chunk: fire(http, bot, chunk, 5), [bodies[i::4] for i in range(4)]))
        last_ack = time.monotonic()
        wait_until(lambda: with_approve(slack) >= n, timeout=timeout, interval=0.5,
                   message=f"{n} releases waiting with Approve buttons")
        all_waiting = time.monotonic() - last_ack
        stats1 = http.request("GET", kube + "/sandbox/stats").json()
        api1, cmds1 = stats1["requests"], redis_commands(redis_url)
        cmdstats = {k: (v - cmdstats0.get(k, 0)) / n for k, v in command_stats(redis_url).items()}
        print("Redis commands per release to stage 1, by command:",
              ", ".join(f"{k} {v:.1f}" for k, v in sorted(cmdstats.items(), key=lambda kv: -kv[1]) if v >= 0.05))
        kinds = {k: (v - stats0["kinds"].get(k, 0)) / n for k, v in stats1["kinds"].items()}
        print("API requests per release to stage 1, by kind:",
              ", ".join(f"{k} {v:.1f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]) if v >= 0.05))
        if spy is not None:
            spy.wait(60)
            print(f"profile of the worker (collapsed stacks, for flamegraph.pl): {profile_to}")
            print(hotspots(profile_to))
        calls0 = len(slack.calls())
        by_method: dict[str, int] = {}
        for call in slack.calls():
            by_method[call.method] = by_method.get(call.method, 0) + 1
        print("Slack calls per release to stage 1:", ", ".join(f"{m} {c / n:.1f}" for m, c in sorted(by_method.items())))
        elapsed_min = (time.monotonic() - started) / 60
        cpu1, _ = proc_stats(bot_proc.pid)
        sandbox_cpu = proc_stats(procs[0].pid)[0] - sandbox_cpu0
        time.sleep(5)                                # let the last messages and timers settle
        req0 = http.request("GET", kube + "/sandbox/stats").json()["requests"]
        redis0, idle0, idle_stats0 = redis_commands(redis_url), proc_stats(bot_proc.pid)[0], command_stats(redis_url)
        time.sleep(IDLE)
        req1 = http.request("GET", kube + "/sandbox/stats").json()["requests"] - 1
        redis1, (idle1, rss) = redis_commands(redis_url), proc_stats(bot_proc.pid)
        idle_stats = {k: (v - idle_stats0.get(k, 0)) / IDLE for k, v in command_stats(redis_url).items()}
        print("Redis commands/s while all wait, by command:",
              ", ".join(f"{k} {v:.1f}" for k, v in sorted(idle_stats.items(), key=lambda kv: -kv[1]) if v >= 0.05))
        return {"n": n, "all waiting after last ack (s)": all_waiting,
                "API requests/s while all wait": (req1 - req0) / IDLE,
                "Redis commands/s while all wait": (redis1 - redis0 - 2) / IDLE,
                "bot CPU while all wait (% of a core)": 100 * (idle1 - idle0) / IDLE,
                "Slack calls/min": calls0 / elapsed_min, "bot CPU to stage 1 (s)": cpu1 - cpu0,
                "bot CPU per release to stage 1 (ms)": 1000 * (cpu1 - cpu0) / n,
                "API requests per release to stage 1": (api1 - api0 - 1) / n,
                "Redis commands per release to stage 1": (cmds1 - cmds0 - 1) / n, "bot RSS (MiB)": rss / 1024,
                "sandbox CPU to stage 1 (s)": sandbox_cpu}
    finally:
        stop_all(procs, slack, redis_proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--profile", type=Path, help="py-spy the worker for 30 s from the first command, to FILE")
    args = parser.parse_args()
    for n in args.apps:
        try:
            result = one_run(n, args.timeout, args.profile)
        except AssertionError as err:
            print(f"n={n}: {err}", flush=True)
            continue
        print("  ".join(f"{k}: {v:.1f}" if isinstance(v, float) else f"{k}: {v}" for k, v in result.items()),
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
