"""The engine with its driver and the shared health watch running, as the bot runs them."""
from __future__ import annotations

from bot.driver import Driver
from bot.gates import MetricGate
from bot.wiring import Core, health_watcher
from bot.settings import Settings
from tests.conftest import wait_until
from tests.helpers import World, build_world


def start_gate_world(sandbox, kube, redis_client, tmp_path, apps_doc=None, prometheus: str = "") -> World:
    w = build_world(sandbox, kube, redis_client, tmp_path, apps_doc)
    wait_until(lambda: w.ready("user-v1") == 10 and w.ready("pay-v1") == 3, message="demo seed ready")
    w.engine.metrics = MetricGate(prometheus, timeout=2)
    w.driver = Driver(w.engine, period=0.2).start()
    core = Core(Settings(), w.registry, w.store, w.kube, w.engine)
    w.watcher = health_watcher(core, w.driver.wake).start()
    return w


def stop_gate_world(w: World) -> None:
    w.watcher.stop()
    w.driver.stop()
