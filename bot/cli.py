"""The `graybot` command: one entry point, one subcommand per job."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path


def _sandbox(args: argparse.Namespace) -> int:
    # imported here: production commands must not load the sandbox (import-linter checks bot/*)
    import importlib

    runner = importlib.import_module("sandbox.main")
    return runner.run(port=args.port, kubeconfig=Path(args.kubeconfig), seed=args.seed,
                      ready_delay=args.ready_delay)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graybot", description="Gray releases on Kubernetes from Slack.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    sb = sub.add_parser("sandbox", help="run the sandbox Kubernetes cluster in the foreground")
    sb.add_argument("--port", type=int, default=8001)
    sb.add_argument("--kubeconfig", default=".graybot/kubeconfig",
                    help="where to write the kubeconfig (apps.yaml goes beside it)")
    sb.add_argument("--seed", choices=["demo", "none"], default="none")
    sb.add_argument("--ready-delay", type=float, default=1.0,
                    help="seconds until a healthy pod is Ready")
    sb.set_defaults(run=_sandbox)
    return parser


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
