"""What a platform team installs: manifests valid against the Kubernetes schemas, both overlays
render, RBAC covers every API call bot/adapters/kube.py makes, the Slack app manifest matches the app,
and the Dockerfile's install steps work in a fresh virtualenv (no Docker engine here)."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from bot.adapters.kube import Kube
from bot.domain.apps import parse_registry

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
K8S_VERSION = "1.30.0"
NOT_OBJECTS = {"kustomization.yaml", "slack-app.yaml", "slack-app-socket.yaml"}


def k8s_documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(MANIFESTS.rglob("*.yaml")):
        if path.name in NOT_OBJECTS or path.parent.name == "monitoring":    # CRDs' objects: test_monitoring
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs.append((str(path.relative_to(ROOT)), doc))
    return docs


@pytest.mark.parametrize("where, doc", k8s_documents(), ids=lambda x: x if isinstance(x, str) else x["kind"])
def test_every_manifest_validates_against_the_kubernetes_schema(where, doc):
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", ["http", "socket"])
def test_kustomize_renders_both_overlays(kubectl_bin, overlay):
    out = subprocess.run([kubectl_bin, "kustomize", str(MANIFESTS / "overlays" / overlay)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    deploy = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "graybot")
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][0] == ("serve" if overlay == "http" else "socket")
    assert container["image"] == "ghcr.io/example/graybot:0.1.0" and deploy["spec"]["replicas"] == 2
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {d["kind"] for d in docs} >= {"Namespace", "ServiceAccount", "ClusterRole", "RoleBinding",
                                         "ConfigMap", "Deployment", "Service", "StatefulSet"}
    assert not any(d["kind"] == "Secret" for d in docs)          # never ship real secrets


def test_the_clusters_component_mounts_the_kubeconfigs_secret(kubectl_bin, tmp_path):
    import shutil
    copy = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, copy)
    overlay = copy / "overlays" / "multi"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["../../base"], "components": ["../../components/clusters"]}))
    out = subprocess.run([kubectl_bin, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    deploy = next(d for d in yaml.safe_load_all(out.stdout) if d and d["kind"] == "Deployment")
    kubernetes_validate.validate(deploy, K8S_VERSION, strict=True)
    pod = deploy["spec"]["template"]["spec"]
    assert {"name": "kubeconfigs", "secret": {"secretName": "graybot-kubeconfigs", "defaultMode": 0o440}} in pod["volumes"]
    assert {"name": "kubeconfigs", "mountPath": "/var/run/graybot/clusters", "readOnly": True} \
        in pod["containers"][0]["volumeMounts"]
    assert pod["securityContext"]["fsGroup"] == 10001


def test_the_shipped_apps_yaml_is_valid():
    config = next(d for _, d in k8s_documents() if d["kind"] == "ConfigMap")
    assert "user" in parse_registry(yaml.safe_load(config["data"]["apps.yaml"]))


# -- RBAC coverage: what bot/adapters/kube.py calls vs what the ClusterRoles grant --------------------
API_GROUPS = {"apps": "apps", "core": "", "net": "networking.k8s.io", "custom": "networking.istio.io"}
GATEWAY_GROUP = "gateway.networking.k8s.io"    # custom-object calls in the *httproute*/*grpcroute* methods
VERBS = {"read": "get", "get": "get", "list": "list", "create": "create", "patch": "patch",
         "delete": "delete", "replace": "update"}
SUBRESOURCES = ("_scale", "_status")


def _resource(snake: str, gateway: bool = False) -> list[str]:
    if snake == "custom_object":
        return list(Kube.GATEWAY_PLURALS if gateway else Kube.ISTIO_PLURALS)
    plural = snake.replace("_", "")
    return [plural + ("es" if plural.endswith("s") else "s")]


ADAPTER = ("kube.py", "kube_custom.py", "kube_network.py")   # the Kubernetes client and its mixins
ROLLOUTS_GROUP = "argoproj.io"                 # custom-object calls in the *rollout* methods
KRUISE_GROUP = "rollouts.kruise.io"            # ... and in the *kruise_rollout* ones
FLAGGER_GROUP = "flagger.app"                  # custom-object calls in the *flagger_canary* methods


def needed_permissions() -> set[tuple[str, str, str]]:
    """(group, resource, verb) for every client method bot/adapters/kube.py (and its mixin)
    references; list methods used in `watch` also need the watch verb."""
    tree = ast.Module(body=[n for f in ADAPTER for n in ast.parse((ROOT / "bot" / "adapters" / f).read_text()).body],
                      type_ignores=[])
    needed = set()
    watch_fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "watch")
    watched = {n.attr for n in ast.walk(watch_fn) if isinstance(n, ast.Attribute)}

    def inside(word: str) -> set[int]:
        return {id(n) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) and word in fn.name
                for n in ast.walk(fn)}
    in_gateway, in_gitops, in_rollouts = inside("httproute") | inside("grpcroute"), inside("gitops"), inside("rollout")
    in_kruise, in_flagger, in_virtualservice = inside("kruise"), inside("flagger"), inside("virtualservice")
    reads = {"gateway": (GATEWAY_GROUP, "gateways"), "gatewayclass": (GATEWAY_GROUP, "gatewayclasses"),
             "crd": ("apiextensions.k8s.io", "customresourcedefinitions"),
             "flux_source": ("source.toolkit.fluxcd.io", "gitrepositories")}
    single_reads = {id(n): reads[fn.name] for fn in ast.walk(tree)
                    if isinstance(fn, ast.FunctionDef) and fn.name in reads for n in ast.walk(fn)}
    for node in ast.walk(tree):
        if id(node) in single_reads and isinstance(node, ast.Attribute) and node.attr.startswith("get_"):
            needed.add(single_reads[id(node)] + ("get",))
            continue
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "self"
                and node.value.attr in API_GROUPS):
            continue
        m = re.match(r"(read|get|list|create|patch|delete|replace)_namespaced_(\w+)$", node.attr)
        assert m, f"unmapped client call {node.attr}"
        verb, rest = VERBS[m.group(1)], m.group(2)
        sub = next((s[1:] for s in SUBRESOURCES if rest.endswith(s)), None)
        rest = rest[: -len(sub) - 1] if sub else rest
        if id(node) in in_gitops:          # Argo CD Applications and Flux Kustomizations
            needed |= {(group, plural, verb) for plural, (group, _v) in Kube.GITOPS.items()}
            continue
        if id(node) in in_flagger and node.value.attr == "custom":      # Flagger Canaries
            needed.add((FLAGGER_GROUP, "canaries", verb))
            if verb == "list" and "list_namespaced_flagger_canary" in watched:
                needed.add((FLAGGER_GROUP, "canaries", "watch"))
            continue
        if id(node) in in_virtualservice:                               # the health watch's VirtualService list
            needed |= {(API_GROUPS["custom"], "virtualservices", verb), (API_GROUPS["custom"], "virtualservices", "watch")}
            continue
        if id(node) in in_rollouts and node.value.attr == "custom":     # Argo and Kruise Rollouts
            group, lister = (KRUISE_GROUP, "list_namespaced_kruise_rollout") if id(node) in in_kruise else \
                (ROLLOUTS_GROUP, "list_namespaced_rollout")
            name = f"rollouts/{sub}" if sub else "rollouts"
            needed.add((group, name, verb))
            if verb == "list" and lister in watched:
                needed.add((group, name, "watch"))
            continue
        gateway = id(node) in in_gateway
        group = GATEWAY_GROUP if gateway else API_GROUPS[node.value.attr]
        for resource in _resource(rest, gateway):
            name = f"{resource}/{sub}" if sub else resource
            needed.add((group, name, verb))
            if verb == "list" and (node.attr in watched or (gateway and "list_namespaced_httproute" in watched)):
                needed.add((group, name, "watch"))
    return needed


def granted_rules() -> list[dict]:
    rules = []
    for path in sorted(MANIFESTS.rglob("rbac.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "ClusterRole":
                rules += doc["rules"]
    return rules


def missing(needed, rules) -> set:
    return {(g, r, v) for g, r, v in needed
            if not any(g in rule["apiGroups"] and r in rule["resources"] and v in rule["verbs"]
                       for rule in rules)}


def test_rbac_covers_every_api_call_of_the_adapter():
    needed = needed_permissions()
    assert ("apps", "deployments/scale", "patch") in needed and ("", "pods", "watch") in needed
    assert ("networking.istio.io", "virtualservices", "patch") in needed
    assert ("networking.istio.io", "virtualservices", "watch") in needed
    assert ("networking.k8s.io", "ingresses", "watch") in needed
    assert (GATEWAY_GROUP, "httproutes", "update") in needed
    assert missing(needed, granted_rules()) == set()


def test_removing_a_needed_verb_is_caught():
    rules = granted_rules()
    for rule in rules:
        if rule["resources"] == ["deployments/scale"]:
            rule["verbs"] = []
    assert missing(needed_permissions(), rules) == {("apps", "deployments/scale", "patch")}


def test_rbac_grants_nothing_the_code_does_not_use():
    needed = needed_permissions()
    extra = {(g, r, v) for rule in granted_rules() for g in rule["apiGroups"] for r in rule["resources"]
             for v in rule["verbs"]} - needed
    assert extra == set()


# -- Slack app manifest --------------------------------------------------------------------
def test_slack_manifests_match_the_app():
    source = "".join((ROOT / "handlers" / f).read_text() for f in ("commands.py", "http.py", "home.py", "start_form.py"))
    assert '@app.command("/release")' in source and '"/slack/events"' in source
    assert '@app.event("app_home_opened")' in source and '@app.shortcut("start_release")' in source
    http = yaml.safe_load((MANIFESTS / "slack-app.yaml").read_text())
    socket_ = yaml.safe_load((MANIFESTS / "slack-app-socket.yaml").read_text())
    for app in (http, socket_):
        (command,) = app["features"]["slash_commands"]
        assert command["command"] == "/release" and command["usage_hint"]
        assert set(app["oauth_config"]["scopes"]["bot"]) == {"commands", "chat:write", "usergroups:read", "files:write"}
        assert app["settings"]["interactivity"]["is_enabled"] is True
        assert app["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
        assert app["features"]["app_home"]["home_tab_enabled"] is True
        assert [s["callback_id"] for s in app["features"]["shortcuts"]] == ["start_release"]
    assert command["command"] == "/release"
    assert http["features"]["slash_commands"][0]["url"].endswith("/slack/events")
    assert http["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert http["settings"]["event_subscriptions"]["request_url"] == http["settings"]["interactivity"]["request_url"]
    assert http["settings"]["socket_mode_enabled"] is False and socket_["settings"]["socket_mode_enabled"] is True
    assert "url" not in socket_["features"]["slash_commands"][0]
    ingress = yaml.safe_load((MANIFESTS / "overlays" / "http" / "ingress.yaml").read_text())
    host = ingress["spec"]["rules"][0]["host"]
    assert http["settings"]["interactivity"]["request_url"] == f"https://{host}/slack/events"


# -- Dockerfile ------------------------------------------------------------------------------
def dockerfile_install_commands() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    block = text.split("# install:")[1].split("# end install")[0]
    run = block[block.index("RUN ") + 4:].replace("\\\n", " ")
    return [c.strip() for c in run.split("&&")]


def test_dockerfile_shape():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("\nFROM ") == 2 and "slim" in text                     # multi-stage, slim base
    assert re.search(r"^USER 10001", text, re.M) and "HEALTHCHECK" in text and "/healthz" in text
    assert 'CMD ["serve", "--port", "3000"]' in text and 'ENTRYPOINT ["graybot"]' in text


def test_dockerfile_install_steps_work_in_a_fresh_virtualenv(tmp_path):
    context = tmp_path / "src"
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, context / name)
    for package in ("bot", "handlers", "strategies", "sandbox"):
        shutil.copytree(ROOT / package, context / package, ignore=shutil.ignore_patterns("__pycache__"))
    prefix = tmp_path / "opt-graybot"
    commands = dockerfile_install_commands()
    assert commands[0] == "python -m venv /opt/graybot"
    for command in commands:
        command = command.replace("/opt/graybot", str(prefix)).replace("python -m venv", f"{sys.executable} -m venv")
        # the image keeps no pip cache; this machine's (./run's install filled it) spares a second download,
        # and byte-compiling every installed module proves nothing here: skipped
        command = command.replace("--no-cache-dir ", "--no-compile ")
        out = subprocess.run(command, shell=True, cwd=context, capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, f"{command}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    helped = subprocess.run([str(prefix / "bin" / "graybot"), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "serve" in helped.stdout and "socket" in helped.stdout
    config = next(d for _, d in k8s_documents() if d["kind"] == "ConfigMap")
    (tmp_path / "apps.yaml").write_text(config["data"]["apps.yaml"])
    checked = subprocess.run([str(prefix / "bin" / "graybot"), "check-config", str(tmp_path / "apps.yaml")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    imports = subprocess.run([str(prefix / "bin" / "python"), "-c", "import bot.app, handlers.http, strategies"],
                             capture_output=True, text=True)
    assert imports.returncode == 0, imports.stderr
