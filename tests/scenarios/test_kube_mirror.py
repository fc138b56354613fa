"""graybot's Kubernetes adapter reads Deployments and Services from what its watches have seen
(as a controller's informer does), over HTTP against the sandbox: a watched object is read
without a request, anyone's change shows once the watch delivers it, and graybot reads its own
write back at once, from the API server until the watch has shown it."""
from __future__ import annotations

import threading

from kubernetes import client

from bot.adapters.kube import Kube
from tests.kit.wait import wait_until
from tests.kit.world import NS
from sandbox.seed import seed_demo


def reads_of(sandbox, name: str) -> int:
    return sandbox.server.paths.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{name}", 0)


def test_reads_come_from_the_watch_and_graybot_reads_its_own_write_back(sandbox, kube):
    seed_demo(sandbox.store)
    k = Kube.from_config(str(sandbox.kubeconfig))
    stop = threading.Event()
    watching = threading.Thread(target=k.watch, args=("deployments", NS, lambda _t, _o: None, stop), daemon=True)
    watching.start()
    try:
        wait_until(lambda: k.mirror.get("deployments", NS, "user-v1")[0], timeout=10, message="listed")
        before = reads_of(sandbox, "user-v1")
        assert k.deployment(NS, "user-v1")["spec"]["replicas"] == 10
        assert k.deployment(NS, "nothing-here") is None
        assert reads_of(sandbox, "user-v1") == before                     # no request

        client.AppsV1Api(kube).patch_namespaced_deployment_scale("user-v1", NS, {"spec": {"replicas": 7}})
        wait_until(lambda: k.deployment(NS, "user-v1")["spec"]["replicas"] == 7, timeout=10,
                   message="someone's change seen through the watch")

        for replicas in (4, 6, 3):           # its own writes, read back at once, whatever the watch has shown
            k.scale(NS, "user-v1", replicas)
            assert k.deployment(NS, "user-v1")["spec"]["replicas"] == replicas
        wait_until(lambda: k.mirror.get("deployments", NS, "user-v1")[0], timeout=10,
                   message="the watch showed graybot's last write")
        settled = reads_of(sandbox, "user-v1")
        assert k.deployment(NS, "user-v1")["spec"]["replicas"] == 3 and reads_of(sandbox, "user-v1") == settled
    finally:
        stop.set()
        k.close()
