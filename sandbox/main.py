"""`graybot sandbox`: the sandbox cluster in the foreground."""
from __future__ import annotations

from pathlib import Path

from .cluster import Sandbox
from .pods import Timing
from .seed import seed_demo


def run(port: int, kubeconfig: Path, seed: str, ready_delay: float) -> int:
    from bot.cli import wait_for_interrupt

    sandbox = Sandbox(port=port, timing=Timing(ready_delay=ready_delay)).start()
    path = sandbox.write_kubeconfig(kubeconfig)
    print(f"sandbox cluster: {sandbox.url}")
    print(f"kubeconfig:      {path.resolve()}   (export KUBECONFIG={path.resolve()})")
    if seed == "demo":
        apps = seed_demo(sandbox.store, path.parent)
        print(f"demo apps:       user (user-v1 x10), pay (pay-v1 x3); apps.yaml: {apps}")
    print("Ctrl-C to stop.", flush=True)
    wait_for_interrupt()
    sandbox.stop()
    return 0
