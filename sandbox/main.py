"""`graybot sandbox`: the sandbox cluster in the foreground."""
from __future__ import annotations

from pathlib import Path

from .cluster import Sandbox
from .pods import Timing
from .seed import seed_demo


def parse_segment(text: str) -> dict:
    """`header:NAME=VALUE` or `cookie:NAME=VALUE` -> the generator's segment."""
    kind, _, pair = text.partition(":")
    name, _, value = pair.partition("=")
    if kind not in ("header", "cookie") or not name or not value:
        raise ValueError(f"{text!r}: use header:NAME=VALUE or cookie:NAME=VALUE")
    return {"headers": {name: value}} if kind == "header" else {"cookies": {name: value}}


def run(port: int, kubeconfig: Path, seed: str, ready_delay: float, traffic_rps: float = 20.0,
        segment: str = "", segment_share: float = 0.1) -> int:
    from bot.runtime.lifecycle import catch_interrupts, wait_for_interrupt

    catch_interrupts()
    sandbox = Sandbox(port=port, timing=Timing(ready_delay=ready_delay), traffic_rps=traffic_rps)
    if segment:
        sandbox.generator.segment, sandbox.generator.segment_share = parse_segment(segment), segment_share
    sandbox.start()
    path = sandbox.write_kubeconfig(kubeconfig)
    print(f"sandbox cluster: {sandbox.url}")
    print(f"kubeconfig:      {path.resolve()}   (export KUBECONFIG={path.resolve()})")
    if seed.startswith("fleet:"):
        from .seed import fleet, seed_apps
        apps = seed_apps(sandbox.store, path.parent, fleet(int(seed.split(":", 1)[1])))
        print(f"fleet:           {seed.split(':', 1)[1]} apps app-000.. of 4 pods; apps.yaml: {apps}")
    if seed == "demo":
        apps = seed_demo(sandbox.store, path.parent, metrics=traffic_rps > 0)
        print(f"demo apps:       user (user-v1 x10), pay (pay-v1 x3); apps.yaml: {apps}")
    print(f"traffic:         {traffic_rps:g} req/s per Ingress path; curl {sandbox.url}/sandbox/traffic?path=/user")
    print(f"prometheus API:  {sandbox.url}/api/v1/query   (export PROMETHEUS_URL={sandbox.url})")
    print("Ctrl-C to stop.", flush=True)
    wait_for_interrupt()
    sandbox.stop()
    return 0
