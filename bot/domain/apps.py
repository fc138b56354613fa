"""Apps (apps.yaml's content as data): AppSpec, its gates, the Registry, and the checks that turn
a parsed document into a Registry or a ConfigError listing every problem at once (pure)."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from .audit import AuditSpec, parse_audit
from .checks import boolean, unknown_keys
from .clusters import DEFAULT_CLUSTER, ClusterSpec, Placement, parse_clusters, parse_placement
from .durations import parse_duration
from .metrics import Metric, parse_metrics
from .names import IDENTITY, IDS_PROBLEM, ROUTERS, WORKLOADS
from .writeback import WritebackSpec, parse_gitops
from .gitops import ArgoCDSpec, parse_argocd
from .rules import POLICY_KEYS, RULE_KEYS, Rules, Windows, parse_rules, parse_windows

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")


class ConfigError(Exception):
    """apps.yaml is wrong; the message lists every problem found."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]


APP_KEYS = ("namespace", "selector", "service", "ingress", "httproute", "grpcroute", "rule", "router", "image", "channels",
            "approvers", "requester_can_approve", "gates", "gitops", "clusters", "waves", "workload",
            "object", "flagger", "argocd", "gitops_suspend") + RULE_KEYS
GATE_KEYS = ("progress_deadline", "max_restarts", "min_ready", "bake", "auto_rollback", "metrics",
             "requests", "min_requests")
TOP_KEYS = ("apps", "policy", "clusters", "audit", "argocd")


@dataclass(frozen=True)
class Gates:
    progress_deadline: int = 600
    max_restarts: int = 1
    min_ready: int = 0
    bake: int = 0
    auto_rollback: bool = True
    metrics: tuple[Metric, ...] = ()
    requests: str = ""          # a query counting the new version's requests in the metrics' window
    min_requests: int = 0       # fewer than this: the metrics have too little to say (inconclusive)


@dataclass(frozen=True)
class AppSpec:
    name: str
    namespace: str = "default"
    selector: tuple[tuple[str, str], ...] = ()
    service: str = ""
    ingress: str = ""
    httproute: str = ""                 # the Gateway API HTTPRoute the gateway router drives
    grpcroute: str = ""                 # ... or, when set, this GRPCRoute (a gRPC service)
    rule: str | int | None = None       # its rule, by name or index (default: the first to `service`)
    router: str = "replicas"
    image: str = ""
    channels: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()
    requester_can_approve: bool = True
    gates: Gates = field(default_factory=Gates)
    rules: Rules = field(default_factory=Rules)     # windows, approvals, webhooks (domain/rules.py)
    gitops: str | None = None     # refuse | suspend | ignore; unset: refuse when a controller would revert
    gitops_suspend: str = "object"  # Flux, with suspend: the reconcile annotation on each object, or the owner's spec.suspend
    placement: Placement = field(default_factory=Placement)   # clusters, waves, per-cluster overrides
    replicas: int | None = None   # a cluster's override of the size to plan for (else the stable's)
    workload: str = "deployment"  # what a release moves: Deployments, or a controller's object (names.WORKLOADS)
    object: str = ""              # that object's name, for a controller's kind (default: the app's name)
    flagger_token: str = ""       # flagger-canary: the environment variable holding its gates' token
    argocd: ArgoCDSpec = field(default_factory=ArgoCDSpec)    # where its Argo CD Applications live
    writeback: WritebackSpec | None = None   # gitops.writeback: the repository a successful release is written to

    @property
    def controlled(self) -> bool:
        """A progressive-delivery controller runs the steps; graybot approves its pauses."""
        return self.workload != "deployment"

    @property
    def clusters(self) -> tuple[str, ...]:
        return self.placement.clusters

    def at(self, cluster: str) -> "AppSpec":
        """This app as it is in one cluster (its overrides applied)."""
        override = self.placement.override(cluster)
        return dataclasses.replace(self, **override) if override else self

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.selector)

    def image_for(self, version: str) -> str:
        return self.image.replace("{version}", version)

    def version_of(self, image: str) -> str | None:
        """The version an image stands for under this app's image pattern, if it fits."""
        head, _, tail = self.image.partition("{version}")
        if image.startswith(head) and image.endswith(tail) and len(image) > len(head) + len(tail):
            return image[len(head):len(image) - len(tail)]
        return None


class Registry(dict[str, AppSpec]):
    """App name -> AppSpec. graybot touches only apps in here; `windows` are the global ones;
    `clusters` name -> ClusterSpec, in the file's order (the first is where unplaced apps run)."""
    windows: Windows = Windows()
    clusters: dict[str, ClusterSpec] = {DEFAULT_CLUSTER: ClusterSpec(DEFAULT_CLUSTER)}
    explicit_clusters: bool = False     # apps.yaml has a clusters: section (check-config then checks them)
    audit: AuditSpec = AuditSpec()


def _gates(raw: object, where: str, problems: list[str]) -> Gates:
    if raw is None:
        return Gates()
    if not isinstance(raw, dict):
        problems.append(f"{where}.gates: must be a mapping")
        return Gates()
    unknown_keys(raw, GATE_KEYS, f"{where}.gates", problems)
    values: dict = {}
    for key in ("progress_deadline", "bake"):
        if key in raw:
            seconds = parse_duration(str(raw[key]))
            if seconds is None:
                problems.append(f"{where}.gates.{key}: {raw[key]!r} is not a duration like 30s, 10m, 2h")
            else:
                values[key] = seconds
    for key in ("max_restarts", "min_ready", "min_requests"):
        if key in raw:
            if not isinstance(raw[key], int) or isinstance(raw[key], bool) or raw[key] < 0:
                problems.append(f"{where}.gates.{key}: must be a whole number >= 0")
            else:
                values[key] = raw[key]
    values["auto_rollback"] = boolean(raw, "auto_rollback", True, f"{where}.gates", problems)
    values["metrics"] = parse_metrics(raw.get("metrics"), where, problems)
    values["requests"] = str(raw.get("requests") or "")
    if values.get("min_requests") and not values["requests"]:
        problems.append(f"{where}.gates.min_requests: needs `requests:`, a query counting the new version's requests")
    return Gates(**values)


def _app(name: str, raw: object, problems: list[str], clusters: dict[str, ClusterSpec]) -> AppSpec | None:
    where = f"apps.{name}"
    if not DNS_LABEL.match(str(name)):
        problems.append(f"{where}: app names must be DNS-1123 labels (lowercase, digits, '-')")
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping")
        return None
    unknown_keys(raw, APP_KEYS, where, problems)
    namespace = str(raw.get("namespace", "default"))
    if not DNS_LABEL.match(namespace):
        problems.append(f"{where}.namespace: {namespace!r} is not a DNS-1123 label")
    selector = raw.get("selector") or {"app": name}
    if not isinstance(selector, dict) or not all(LABEL_VALUE.match(str(v)) for v in selector.values()):
        problems.append(f"{where}.selector: must map label names to label values")
        selector = {"app": name}
    router = str(raw.get("router", "replicas"))
    if router not in ROUTERS:
        problems.append(f"{where}.router: {router!r} is not one of {', '.join(ROUTERS)}")
    gitops, writeback = parse_gitops(raw.get("gitops"), where, problems)
    rule = raw.get("rule")
    if rule is not None and (isinstance(rule, bool) or not isinstance(rule, (str, int))
                             or (isinstance(rule, int) and not 0 <= rule < 16)
                             or (isinstance(rule, str) and not DNS_LABEL.match(rule))):
        problems.append(f"{where}.rule: must be a rule name or an index 0-15, not {rule!r}")
        rule = None
    image = str(raw.get("image", ""))
    if "{version}" not in image:
        problems.append(f"{where}.image: must contain {{version}}, e.g. \"registry/{name}:{{version}}\"")
    channels, approvers = raw.get("channels") or [], raw.get("approvers") or []
    for key, ids in (("channels", channels), ("approvers", approvers)):
        if not isinstance(ids, list) or not all(IDENTITY.match(str(i)) for i in ids):
            problems.append(f"{where}.{key}: {IDS_PROBLEM}")
    workload = str(raw.get("workload", "deployment"))
    if workload not in WORKLOADS:
        problems.append(f"{where}.workload: {workload!r} is not one of {', '.join(WORKLOADS)}")
    if writeback is not None and workload != "deployment":
        problems.append(f"{where}.gitops.writeback: only for `workload: deployment` (graybot edits the Deployment's "
                        f"manifest), not {workload}")
    obj = str(raw.get("object") or name)
    if not DNS_LABEL.match(obj):
        problems.append(f"{where}.object: {obj!r} is not a DNS-1123 name")
    return AppSpec(name=name, namespace=namespace, workload=workload, object=obj,
                   flagger_token=_flagger(raw.get("flagger"), workload, where, problems),
                   gitops_suspend=_choice(raw, "gitops_suspend", ("object", "owner"), where, problems),
                   selector=tuple(sorted((str(k), str(v)) for k, v in selector.items())),
                   service=str(raw.get("service", name)), ingress=str(raw.get("ingress", name)),
                   httproute=str(raw.get("httproute", name)), grpcroute=_grpcroute(raw, where, problems), rule=rule, router=router, gitops=gitops, writeback=writeback, image=image, channels=tuple(map(str, channels)),
                   approvers=tuple(map(str, approvers)),
                   requester_can_approve=boolean(raw, "requester_can_approve", True, where, problems),
                   gates=_gates(raw.get("gates"), where, problems),
                   rules=parse_rules(raw, where, problems),
                   placement=parse_placement(raw, where, clusters, problems))


def _choice(raw: dict, key: str, allowed: tuple[str, ...], where: str, problems: list[str]) -> str:
    value = str(raw.get(key, allowed[0]))
    if value not in allowed:
        problems.append(f"{where}.{key}: must be one of {', '.join(allowed)}, not {value!r}")
        return allowed[0]
    return value


def _grpcroute(raw: dict, where: str, problems: list[str]) -> str:
    name = str(raw.get("grpcroute") or "")
    if name and not DNS_LABEL.match(name):
        problems.append(f"{where}.grpcroute: {name!r} is not a DNS-1123 name")
    if name and "httproute" in raw:
        problems.append(f"{where}: `httproute` and `grpcroute` both set; the gateway router drives one route")
    return name


def _flagger(raw: object, workload: str, where: str, problems: list[str]) -> str:
    """`flagger: {token_secret: ENV}`: the variable holding the token Flagger's webhooks carry."""
    if raw is None:
        if workload == "flagger-canary":
            problems.append(f"{where}.flagger: a flagger-canary app needs `flagger: {{token_secret: ENV_NAME}}`, "
                            "the variable holding the token its Canary's webhooks carry")
        return ""
    if workload != "flagger-canary":
        problems.append(f"{where}.flagger: only for `workload: flagger-canary`, not {workload}")
        return ""
    if not isinstance(raw, dict):
        problems.append(f"{where}.flagger: must be a mapping like {{token_secret: FLAGGER_GATE_TOKEN}}")
        return ""
    unknown_keys(raw, ("token_secret",), f"{where}.flagger", problems)
    env = str(raw.get("token_secret", ""))
    if not ENV_NAME.match(env):
        problems.append(f"{where}.flagger.token_secret: {env!r} is not an environment variable name")
        return ""
    return env


def parse_registry(doc: object, base: Path | None = None) -> Registry:
    """`base`: the directory relative kubeconfig paths are read from (apps.yaml's)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("apps"), dict) or not doc["apps"]:
        raise ConfigError("apps.yaml: needs a top-level 'apps:' mapping with at least one app")
    problems: list[str] = []
    unknown_keys(doc, TOP_KEYS, "apps.yaml", problems)
    registry = Registry()
    policy = doc.get("policy") or {}
    if not isinstance(policy, dict):
        problems.append("apps.yaml policy: must be a mapping with deny: and allow: lists")
        policy = {}
    unknown_keys(policy, POLICY_KEYS, "policy", problems)
    registry.windows = parse_windows(policy, "policy", problems)
    registry.clusters = parse_clusters(doc.get("clusters"), base, problems)
    registry.explicit_clusters = "clusters" in doc
    registry.audit = parse_audit(doc.get("audit"), problems)
    argocd = parse_argocd(doc.get("argocd"), "apps.yaml", registry.clusters, problems) or ArgoCDSpec()
    for name, raw in doc["apps"].items():
        spec = _app(str(name), raw, problems, registry.clusters)
        if spec is not None:
            own = parse_argocd(raw.get("argocd"), f"apps.{name}", registry.clusters, problems)
            registry[spec.name] = dataclasses.replace(spec, argocd=own or argocd)
    if problems:
        raise ConfigError("apps.yaml has problems:\n  - " + "\n  - ".join(problems), problems)
    return registry
