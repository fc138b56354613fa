"""Every environment variable -> Settings, and the registry file (apps.yaml) -> a Registry."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .adapters import redisurl
from .domain.apps import ConfigError, Registry, parse_registry

__all__ = ["ConfigError", "Settings", "load_registry"]


def _float(env: dict[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a number") from None
    if not value > 0:
        raise ConfigError(f"{key}={raw!r} must be above 0")
    return value


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    redis_url: str = "redis://127.0.0.1:6379/0"
    config_path: str = "apps.yaml"
    kubeconfig: str = ""
    prometheus_url: str = ""
    datadog_url: str = "https://api.datadoghq.com"
    datadog_api_key: str = ""
    datadog_app_key: str = ""
    timezone: str = "UTC"
    leader_ttl: float = 5.0           # GRAYBOT_LEADER_TTL: seconds before another process takes over
    misfire_grace: float = 3600.0     # GRAYBOT_MISFIRE_GRACE: how late a timer may still fire
    kube_retry_backoff: float = 0.2   # first pause between retries of a failed Kubernetes call
    kube_connect_timeout: float = 3.0  # GRAYBOT_KUBE_CONNECT_TIMEOUT, seconds
    kube_read_timeout: float = 5.0     # GRAYBOT_KUBE_READ_TIMEOUT: a hung API call is given up after this
    driver_workers: int = 16           # releases the driver works on at once
    audit_secret: str = field(default="", repr=False)   # GRAYBOT_AUDIT_SECRET: signs audit webhook posts

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        return cls(slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
                   slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
                   slack_app_token=env.get("SLACK_APP_TOKEN", ""),
                   slack_api_url=env.get("SLACK_API_URL", cls.slack_api_url),
                   redis_url=env.get("REDIS_URL", cls.redis_url),
                   config_path=env.get("GRAYBOT_CONFIG", cls.config_path),
                   kubeconfig=env.get("KUBECONFIG", ""),
                   prometheus_url=env.get("PROMETHEUS_URL", ""),
                   datadog_url=env.get("DATADOG_URL", cls.datadog_url),
                   datadog_api_key=env.get("DATADOG_API_KEY", ""), datadog_app_key=env.get("DATADOG_APP_KEY", ""),
                   timezone=env.get("GRAYBOT_TIMEZONE", "UTC"),
                   leader_ttl=_float(env, "GRAYBOT_LEADER_TTL", cls.leader_ttl),
                   misfire_grace=_float(env, "GRAYBOT_MISFIRE_GRACE", cls.misfire_grace),
                   kube_connect_timeout=_float(env, "GRAYBOT_KUBE_CONNECT_TIMEOUT", cls.kube_connect_timeout),
                   kube_read_timeout=_float(env, "GRAYBOT_KUBE_READ_TIMEOUT", cls.kube_read_timeout),
                   driver_workers=int(_float(env, "GRAYBOT_DRIVER_WORKERS", cls.driver_workers)),
                   audit_secret=env.get("GRAYBOT_AUDIT_SECRET", ""))


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r} is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_registry(path: str | os.PathLike) -> Registry:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        doc = yaml.load(text, Loader=_StrictLoader)    # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    return parse_registry(doc, Path(path).resolve().parent)


PLACEHOLDERS = ("REPLACE-ME", "REPLACE_ME", "CHANGE-ME", "CHANGEME", "changeme", "secret", "xxx")


def is_placeholder(secret: str) -> bool:
    return secret.strip() in PLACEHOLDERS or "REPLACE" in secret.upper() or len(secret.strip()) < 8


def startup_problems(settings: Settings, registry: Registry, slack_http: bool = False) -> list[str]:
    """What the environment lacks for this registry: found at start and by check-config, never
    at stage 1 of a release."""
    problems = redisurl.problems(settings.redis_url)
    if slack_http and not settings.slack_signing_secret:
        problems.append("SLACK_SIGNING_SECRET is not set: every Slack request would be refused")
    elif slack_http and is_placeholder(settings.slack_signing_secret):
        problems.append("SLACK_SIGNING_SECRET is a placeholder (from the example Secret): anyone who can reach "
                        "graybot could sign requests with it; set the app's signing secret")
    if registry.audit.webhook and is_placeholder(settings.audit_secret):
        problems.append("audit.webhook is set but GRAYBOT_AUDIT_SECRET is not (or is a placeholder): "
                        "the receiver could not tell graybot's entries from forged ones")
    for app in registry.values():
        if app.flagger_token and is_placeholder(os.environ.get(app.flagger_token, "")):
            problems.append(f"apps.{app.name}.flagger.token_secret: {app.flagger_token} is not set (or is a "
                            "placeholder): every request of its Canary's webhooks would be refused")
        spec = app.writeback
        if spec is not None and spec.token_secret and is_placeholder(os.environ.get(spec.token_secret, "")):
            problems.append(f"apps.{app.name}.gitops.writeback.token_secret: {spec.token_secret} is not set (or is "
                            "a placeholder): graybot could not push a successful release to Git")
        if spec is not None and spec.ssh_key_file and not os.path.isfile(spec.ssh_key_file):
            problems.append(f"apps.{app.name}.gitops.writeback.ssh_key_file: {spec.ssh_key_file} is not a file")
    needs = {"prometheus": [("PROMETHEUS_URL", settings.prometheus_url)],
             "datadog": [("DATADOG_API_KEY", settings.datadog_api_key), ("DATADOG_APP_KEY", settings.datadog_app_key)],
             "web": []}
    for app in registry.values():
        own = all(registry.clusters[c].prometheus for c in app.clusters if c in registry.clusters)
        for metric in app.gates.metrics:
            for variable, value in needs[metric.provider]:
                if not value and not (metric.provider == "prometheus" and own):   # each cluster has its own
                    problems.append(f"apps.{app.name}.gates.metrics: {metric.name!r} needs {variable}, "
                                    "which is not set")
    return problems


def flagger_tokens(registry: Registry) -> dict[str, str]:
    """app -> the token its Flagger Canary's webhooks must carry (from the environment)."""
    return {app.name: os.environ.get(app.flagger_token, "") for app in registry.values() if app.flagger_token}
