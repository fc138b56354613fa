"""`graybot serve` and `graybot socket`: two processes. This one is the worker (the engine, the
policy, the timers, live messages, every Slack call after the ack); it starts the edge process
(`graybot edge`, bot/app/ackpath.py) that alone answers Slack, on the public port, and hands it
this process's identity and loopback address.

Why processes and not a thread pool or an event loop in one process: the acks' enemy is the
GIL, held by whatever the engine does at that moment (rendering, JSON, Redis and cluster replies);
only another interpreter frees the ack path of it. The edge is stateless, so this process restarts
it if it dies; if this process dies, the kernel stops the edge (PR_SET_PDEATHSIG), and its acked
requests are in Redis for the next process."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from handlers.http import SlackHTTPServer

from ..config import Settings
from ..runtime.lifecycle import catch_interrupts, freeze_start_up_objects, interrupted
from . import build

log = logging.getLogger("graybot.app")
RESTARTS = 3             # edge exits within RESTART_WINDOW seconds before the worker gives up
RESTART_WINDOW = 30.0


WORKER_NICENESS = 19


def yield_to_edge() -> None:
    """The worker's threads run at a lower CPU priority than the edge it started, so on a busy
    machine the acks come first; work after the ack waits milliseconds, which nobody sees.
    Linux sets niceness per thread: every thread of this process now, and (from the main
    thread's) every thread it starts later."""
    for tid in os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else [str(os.getpid())]:
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), WORKER_NICENESS)
        except OSError:           # a thread that just ended
            pass


@dataclass
class EdgeProcess:
    """The `graybot edge` child: started, restarted when it dies, stopped with SIGTERM."""
    host: str
    port: int
    worker: str
    worker_url: str
    socket: bool = False
    proc: subprocess.Popen | None = None
    exits: list[float] = field(default_factory=list)

    def start(self) -> None:
        args = [sys.executable, "-m", "bot.cli", "edge", "--host", self.host, "--port", str(self.port),
                "--worker", self.worker, "--worker-url", self.worker_url] + (["--socket"] if self.socket else [])
        self.proc = subprocess.Popen(args)      # its logs go where ours go

    def keep_running(self) -> bool:
        """Restart a dead edge; False when it keeps dying (a port in use, a bad token): give up."""
        if self.proc is None or (code := self.proc.poll()) is None:
            return True
        now = time.monotonic()
        self.exits = [t for t in self.exits if now - t < RESTART_WINDOW] + [now]
        if len(self.exits) >= RESTARTS:
            log.error("the edge process exited %d times in %.0f s (last code %s); stopping",
                      len(self.exits), RESTART_WINDOW, code)
            return False
        log.warning("the edge process exited (code %s); starting it again", code)
        self.start()
        return True

    def stop(self, grace: float = 8.0) -> None:
        """SIGTERM: it stops accepting, lets the acks in flight finish, and exits."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(2)


def run(settings: Settings, host: str, port: int, socket: bool = False) -> int:
    """Run the worker and its edge until SIGTERM (0), or until the edge cannot run (1)."""
    catch_interrupts()
    bot = build(settings).start(edge_apart=True)
    # the worker's probes and metrics, for the edge to forward: loopback only, any free port
    internal = SlackHTTPServer(("127.0.0.1", 0), bot.bolt, bot.health, lambda: bot.metrics_text("core"),
                               slack_events=False)
    internal.serve_in_thread()
    edge = EdgeProcess(host, port, bot.identity, internal.url, socket)
    edge.start()
    yield_to_edge()
    freeze_start_up_objects()
    log.info("graybot %s: the edge answers Slack on %s:%d (%s)", bot.identity, host, port,
             "Socket Mode" if socket else "/slack/events")
    code = 0
    try:
        while not interrupted(0.5):
            if not edge.keep_running():
                code = 1
                break
    finally:
        edge.stop()           # no more acks first; then what was acked is finished (inbox.stop)
        internal.shutdown()
        bot.stop()
    return code


def serve(settings: Settings, host: str, port: int) -> int:
    return run(settings, host, port)


def socket_mode(settings: Settings, host: str = "0.0.0.0", port: int = 3000) -> int:
    """Socket Mode: the edge opens the WebSocket to Slack; /healthz and /metrics are on `port`."""
    if not settings.slack_app_token:
        raise SystemExit("Socket Mode needs SLACK_APP_TOKEN (an xapp- token with connections:write)")
    return run(settings, host, port, socket=True)
