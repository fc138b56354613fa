"""The `graybot` command: one entry point, one subcommand per job."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ..runtime import logs
from ..runtime.lifecycle import catch_interrupts, wait_for_interrupt
from . import audit, release


def _sandbox(args: argparse.Namespace) -> int:
    # the one place production code may reach the sandbox (declared in .importlinter); imported
    # here, not at the top, so production commands never load it
    from sandbox import main as sandbox_main

    return sandbox_main.run(port=args.port, kubeconfig=Path(args.kubeconfig), seed=args.seed,
                      ready_delay=args.ready_delay, traffic_rps=args.traffic_rps,
                      segment=args.segment, segment_share=args.segment_share)


def _config_problems(path: str | None = None, slack_http: bool = False,
                     slack: bool = True) -> tuple[object, list[str]]:
    """(registry or None, every problem as one line): the file, the Slack shape of its IDs (for
    the Slack modes and check-config), then what the environment lacks. check-config and every
    long-running command print the same lines."""
    from ..config import ConfigError, Settings, load_registry, startup_problems

    try:
        settings = Settings.from_env()
        registry = load_registry(path or settings.config_path)
    except ConfigError as err:
        return None, err.problems
    problems = []
    if slack:
        from handlers.access import slack_id_problems

        problems += slack_id_problems(registry)
    return registry, problems + startup_problems(settings, registry, slack_http=slack_http)


def _refuse_to_start(slack_http: bool = False, slack: bool = True) -> int | None:
    registry, problems = _config_problems(slack_http=slack_http, slack=slack)
    if not problems:
        return None
    print("graybot cannot start:\n  - " + "\n  - ".join(problems), file=sys.stderr)
    return 2


def _check_config(args: argparse.Namespace) -> int:
    from ..config import Settings

    path = args.path or Settings.from_env().config_path
    registry, problems = _config_problems(path)
    if problems:
        print(f"{path} has problems:\n  - " + "\n  - ".join(problems), file=sys.stderr)
        return 1
    if registry.explicit_clusters or any(app.controlled for app in registry.values()):
        # each cluster answers, each app's Deployments (or its controller's object) are there
        from ..core.clustercheck import cluster_problems

        settings = Settings.from_env()
        problems = cluster_problems(registry, settings.kubeconfig,
                                    (settings.kube_connect_timeout, settings.kube_read_timeout))
        if problems:
            print(f"{path}: the clusters have problems:\n  - " + "\n  - ".join(problems), file=sys.stderr)
            return 1
    for app in registry.values():
        where = f", clusters {', '.join(app.clusters)}" if registry.explicit_clusters else ""
        moved = f"{app.workload} {app.object}" if app.controlled else f"selector {app.labels}, router {app.router}"
        print(f"{app.name}: namespace {app.namespace}, {moved}, image {app.image}{where}")
    print(f"{path}: {len(registry)} app(s), OK")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ..app.processes import serve
    from ..config import Settings

    if (refused := _refuse_to_start(slack_http=True)) is not None:
        return refused
    return serve(Settings.from_env(), args.host, args.port)


def _edge(args: argparse.Namespace) -> int:
    """The ack path of `serve` / `socket`, started by them (bot/app/processes.py)."""
    from ..app.ackpath import run_edge
    from ..config import Settings

    run_edge(Settings.from_env(), args.host, args.port, args.worker, args.worker_url, socket=args.socket)
    logging.shutdown()
    os._exit(0)     # at once: a stray library thread must not keep an edge alive without its worker


def _worker(args: argparse.Namespace) -> int:
    """The engine's background duties without Slack: driver, health watch, timers (if elected)."""
    from ..config import Settings
    from ..wiring import build_core, build_runner

    if (refused := _refuse_to_start(slack=False)) is not None:
        return refused
    catch_interrupts()
    core = build_core(Settings.from_env())
    runner = build_runner(core).start()
    logging.getLogger("graybot").info("worker %s started", runner.leadership.identity)
    wait_for_interrupt()
    runner.stop()
    return 0


def _socket(args: argparse.Namespace) -> int:
    from ..app.processes import socket_mode
    from ..config import Settings

    if (refused := _refuse_to_start()) is not None:
        return refused
    return socket_mode(Settings.from_env(), args.host, args.port)


def _playground(args: argparse.Namespace) -> int:
    from sandbox.playground import run as playground     # a development tool, like _sandbox

    return playground.run(args.port, args.fast, args.host, socket_mode=args.socket)


def _seed(text: str) -> str:
    if text in ("demo", "none") or (text.startswith("fleet:") and text[6:].isdigit() and 0 < int(text[6:]) <= 2000):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: use demo, none or fleet:N (1 to 2000)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graybot", description="Gray releases on Kubernetes from Slack.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    sb = sub.add_parser("sandbox", help="run the sandbox Kubernetes cluster in the foreground")
    sb.add_argument("--port", type=int, default=8001)
    sb.add_argument("--kubeconfig", default=".graybot/kubeconfig",
                    help="where to write the kubeconfig (apps.yaml goes beside it)")
    sb.add_argument("--seed", default="none", type=_seed,
                    help="demo (user, pay), fleet:N (N apps of 4 pods, for benchmarks) or none")
    sb.add_argument("--ready-delay", type=float, default=1.0,
                    help="seconds until a healthy pod is Ready")
    sb.add_argument("--traffic-rps", type=float, default=20.0,
                    help="simulated requests per second on every Ingress path (0: none)")
    sb.add_argument("--segment", default="", help="header:NAME=VALUE or cookie:NAME=VALUE some requests carry")
    sb.add_argument("--segment-share", type=float, default=0.1, help="the share of requests in --segment")
    sb.set_defaults(run=_sandbox)

    pg = sub.add_parser("playground", help="sandbox + Redis + bot + a browser console, no Slack needed")
    pg.add_argument("--port", type=int, default=8080, help="the console's port")
    pg.add_argument("--host", default="127.0.0.1")
    pg.add_argument("--fast", action="store_true", help="short pod and bake delays (for tests)")
    pg.add_argument("--socket", action="store_true", help="run graybot in Socket Mode (a fake Slack WebSocket)")
    pg.set_defaults(run=_playground)

    rel = sub.add_parser("release", help="run a /release command from the terminal",
                         description="The /release command language, e.g. "
                                     "`graybot release canary user-v2 10%%`. Uses KUBECONFIG, "
                                     "REDIS_URL and GRAYBOT_CONFIG; acts as GRAYBOT_CLI_USER (default: "
                                     "the OS user) under the apps' release policy.")
    rel.add_argument("--override-policy", metavar="REASON", default="",
                     help="go past a policy refusal; the reason is recorded in the audit trail and the thread")
    rel.add_argument("--no-wait", action="store_true", help="return once the change is saved")
    rel.add_argument("--timeout", type=float, default=600, help="seconds to wait for a stage")
    rel.add_argument("words", nargs=argparse.REMAINDER)
    rel.set_defaults(run=release.run)

    srv = sub.add_parser("serve", help="HTTP mode: POST /slack/events, GET /healthz, GET /metrics")
    srv.add_argument("--host", default="0.0.0.0")
    srv.add_argument("--port", type=int, default=3000)
    srv.set_defaults(run=_serve)

    wrk = sub.add_parser("worker", help="run releases' timers, driver and health watch without Slack")
    wrk.set_defaults(run=_worker)

    sock = sub.add_parser("socket", help="Socket Mode (needs SLACK_APP_TOKEN); /healthz and /metrics on --port")
    sock.add_argument("--host", default="0.0.0.0")
    sock.add_argument("--port", type=int, default=3000)
    sock.set_defaults(run=_socket)

    edg = sub.add_parser("edge", help="(started by serve and socket) the process that alone acks Slack")
    edg.add_argument("--host", default="0.0.0.0")
    edg.add_argument("--port", type=int, default=3000)
    edg.add_argument("--worker", required=True, help="the identity of the worker process it hands requests to")
    edg.add_argument("--worker-url", required=True, help="the worker's loopback /healthz and /metrics")
    edg.add_argument("--socket", action="store_true", help="Socket Mode: open the WebSocket to Slack")
    edg.set_defaults(run=_edge)

    aud = sub.add_parser("audit", help="the audit trail: who changed what, when, with what evidence")
    aud.add_argument("app", nargs="?", help="one app (default: every app)")
    aud.add_argument("--since", type=audit.since, default=0.0, metavar="WHEN", help="7d, 12h or a date (UTC)")
    aud.add_argument("--format", choices=("text", "json", "csv"), default="text")
    aud.add_argument("--verify", action="store_true", help="check the hash chains; exit 1 if one is broken")
    aud.set_defaults(run=audit.run)

    chk = sub.add_parser("check-config", help="validate apps.yaml (GRAYBOT_CONFIG)")
    chk.add_argument("path", nargs="?")
    chk.set_defaults(run=_check_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.verbose)
    return args.run(args)

