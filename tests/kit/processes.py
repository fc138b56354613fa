"""graybot as real processes (`graybot serve`), one after another, on one Redis, sandbox and fake
Slack: for crash, restart and resource tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import urllib3

from sandbox.slack import FakeSlack, signature_headers

from .wait import free_port, wait_until

SECRET = "process-secret"
CHANNEL = "C0RELEASE"


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(open(f"/proc/{entry}/stat").read().rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry))
        except OSError:           # a process that just ended
            continue
    return found


class Bots:
    """graybot serve processes, one after another, on one Redis, sandbox and fake Slack."""

    def __init__(self, world, slack: FakeSlack, redis_url: str, tmp_path):
        self.world, self.slack, self.tmp = world, slack, tmp_path
        self.env = dict(os.environ, KUBECONFIG=str(world.core.settings.kubeconfig), REDIS_URL=redis_url,
                        GRAYBOT_CONFIG=str(world.config_path), SLACK_SIGNING_SECRET=SECRET,
                        SLACK_BOT_TOKEN="xoxb-crash", SLACK_API_URL=slack.url)
        self.http = urllib3.PoolManager()
        self.procs: list[subprocess.Popen] = []
        self.url = ""                              # the last one started
        self.urls: dict[int, str] = {}             # pid -> its URL

    def start(self, mode: str = "serve", python: str = sys.executable, cwd: str | None = None,
              env: dict | None = None, port: int | None = None) -> subprocess.Popen:
        """`graybot serve`, or `graybot socket` (then Slack's side is the fake's socket server);
        `python`, `cwd`, `env`: another graybot's interpreter, source tree and environment; `port`:
        the one a process before it had (what a Service in front of graybot would keep)."""
        port = port or free_port()
        log = open(self.tmp / f"bot-{len(self.procs)}.log", "w")
        env = dict(env or self.env)
        if mode == "socket":
            env["SLACK_APP_TOKEN"] = "xapp-1-A0GRAYBOT-test"
        proc = subprocess.Popen([python, "-m", "bot.cli", mode, "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.url = f"http://127.0.0.1:{port}"
        self.urls[proc.pid] = self.url
        wait_until(self._healthy, timeout=30, message="graybot serve is up")
        return proc

    def _healthy(self) -> bool:
        try:
            return self.http.request("GET", self.url + "/healthz", timeout=1, retries=False).status == 200
        except urllib3.exceptions.HTTPError:
            return False

    def post(self, body: str, url: str | None = None):
        headers = dict(signature_headers(SECRET, body), **{"Content-Type": "application/x-www-form-urlencoded"})
        return self.http.request("POST", (url or self.url) + "/slack/events", body=body.encode(), headers=headers,
                                 timeout=5, retries=False)

    def button(self, release, action: str) -> tuple[str, str]:
        """(value, message ts) of a button as the release's live message shows it now."""
        def current():
            where = self.world.core.edge_state.message(release.id)
            msg = where and next((m for m in self.slack.channel(CHANNEL) if m["ts"] == where[1]), None)
            for block in (msg or {}).get("blocks") or []:
                for element in block.get("elements") or []:
                    if element.get("action_id") == action:
                        return element["value"], msg["ts"]
            return None
        return wait_until(current, timeout=30, message=f"{action} button")

    def kill(self) -> None:
        proc = self.procs[-1]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def peak_rss_kib(self) -> int:
        """The running bot's peak resident memory (VmHWM), KiB."""
        status = open(f"/proc/{self.procs[-1].pid}/status").read()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))

    def rss_kib(self) -> int:
        status = open(f"/proc/{self.procs[-1].pid}/status").read()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
