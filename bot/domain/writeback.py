"""Writing a successful release back to Git: what apps.yaml configures (`gitops: {policy: ...,
writeback: {...}}`) and which values of which manifest must change (pure: from the documents as
parsed and the release's live objects). The edit itself keeps the file's formatting
(bot/adapters/manifests.py); the Git work is bot/core/writeback.py's."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .gitops import POLICIES

MODES, PROVIDERS = ("commit", "pull-request"), ("github", "gitlab")
KEYS = ("repo", "branch", "path", "mode", "token_secret", "username", "ssh_key_file", "api", "provider", "author")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AUTHOR = re.compile(r"^[^<>]+ <[^<>@\s]+@[^<>\s]+>$")

Path = tuple  # keys and list indices from the document's root, e.g. ("spec", "replicas")


@dataclass(frozen=True)
class WritebackSpec:
    repo: str                      # https://... or ssh (git@host:owner/repo.git, ssh://...)
    branch: str = "main"
    path: str = ""                 # the directory (or file) in the repository holding the app's manifests
    mode: str = "commit"           # commit | pull-request
    token_secret: str = ""         # HTTPS: the environment variable holding the token (password)
    username: str = "graybot"      # HTTPS: the user the token belongs to (GitHub takes any; GitLab: oauth2)
    ssh_key_file: str = ""         # SSH: a private key file (a mounted Secret)
    api: str = ""                  # pull-request: the REST API base (https://api.github.com, .../api/v4)
    provider: str = "github"       # pull-request: github | gitlab
    author: str = "graybot <graybot@users.noreply.graybot.io>"

    @property
    def https(self) -> bool:
        return self.repo.startswith(("https://", "http://"))

    @property
    def project(self) -> str:
        """OWNER/REPO (or GROUP/SUB/REPO) from the repository URL: what the REST API names."""
        path = urlsplit(self.repo).path if "://" in self.repo else self.repo.partition(":")[2]
        return path.strip("/").removesuffix(".git")


def parse_gitops(raw: object, where: str, problems: list[str]) -> tuple[str | None, WritebackSpec | None]:
    """`gitops: POLICY` or `gitops: {policy: POLICY, writeback: {...}}`."""
    if raw is None or isinstance(raw, str):
        if raw is not None and raw not in POLICIES:
            problems.append(f"{where}.gitops: must be one of {', '.join(POLICIES)}, not {raw!r}")
            return None, None
        return raw, None
    if not isinstance(raw, dict) or set(raw) - {"policy", "writeback"}:
        problems.append(f"{where}.gitops: must be a policy ({', '.join(POLICIES)}) or a mapping of policy and writeback")
        return None, None
    policy, _ = parse_gitops(raw.get("policy"), where, problems)
    return policy, parse_writeback(raw.get("writeback"), f"{where}.gitops.writeback", problems)


def parse_writeback(raw: object, where: str, problems: list[str]) -> WritebackSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping like {{repo: URL, branch: main, path: DIR, mode: commit}}")
        return None
    before = len(problems)
    for key in sorted(set(raw) - set(KEYS)):
        problems.append(f"{where}.{key}: unknown key (known: {', '.join(KEYS)})")
    spec = WritebackSpec(**{k: str(raw[k]) for k in KEYS if raw.get(k) is not None})
    parts = urlsplit(spec.repo) if "://" in spec.repo else None
    if not spec.repo:
        problems.append(f"{where}.repo: the repository's URL is required")
    elif parts is not None and (parts.username or parts.password):
        problems.append(f"{where}.repo: no credentials in the URL; put the token in an environment variable "
                        "named by token_secret (or use ssh_key_file)")
    elif parts is not None and parts.scheme not in ("https", "http", "ssh"):
        problems.append(f"{where}.repo: {parts.scheme}:// is not https or ssh")
    if spec.mode not in MODES:
        problems.append(f"{where}.mode: must be one of {', '.join(MODES)}, not {spec.mode!r}")
    if spec.provider not in PROVIDERS:
        problems.append(f"{where}.provider: must be one of {', '.join(PROVIDERS)}, not {spec.provider!r}")
    if spec.https and not spec.token_secret:
        problems.append(f"{where}.token_secret: an HTTPS repository needs the name of the environment variable "
                        "holding its token")
    if spec.token_secret and not _ENV.match(spec.token_secret):
        problems.append(f"{where}.token_secret: {spec.token_secret!r} is not an environment variable name")
    if spec.mode == "pull-request" and not spec.api:
        problems.append(f"{where}.api: pull-request mode needs the REST API's base URL "
                        "(https://api.github.com, https://gitlab.example/api/v4)")
    if ".." in spec.path.split("/") or spec.path.startswith("/"):
        problems.append(f"{where}.path: {spec.path!r} must be relative to the repository's root")
    if not _AUTHOR.match(spec.author):
        problems.append(f"{where}.author: {spec.author!r} is not like `Name <email@host>`")
    return spec if len(problems) == before else None


class NotEditable(Exception):
    """The manifest cannot take the change as an in-place edit (a person must make it)."""


def is_document(doc: object, kind: str, name: str, namespace: str) -> bool:
    meta = (doc.get("metadata") or {}) if isinstance(doc, dict) else {}
    return isinstance(doc, dict) and doc.get("kind") == kind and meta.get("name") == name and \
        meta.get("namespace", namespace) == namespace


def deployment_edits(doc: dict, live: dict) -> list[tuple[Path, object]]:
    """The stable Deployment's manifest made the release's: its name, the labels it already has
    (metadata, selector, template: the version), replicas when Git sets them, each container's
    image. `live` is handback()'s deployment."""
    edits: list[tuple[Path, object]] = []
    if doc["metadata"].get("name") != live["name"]:
        edits.append((("metadata", "name"), live["name"]))
    spec = doc.get("spec") or {}
    template = (spec.get("template") or {}).get("metadata") or {}
    for which, path, labels in (("metadata", ("metadata", "labels"), doc["metadata"].get("labels")),
                                ("selector", ("spec", "selector", "matchLabels"),
                                 (spec.get("selector") or {}).get("matchLabels")),
                                ("template", ("spec", "template", "metadata", "labels"), template.get("labels"))):
        wanted = live["labels"][which]
        for key, value in (labels or {}).items():
            if key in wanted and str(wanted[key]) != str(value):
                edits.append((path + (key,), str(wanted[key])))
    if "replicas" in spec and live.get("replicas") is not None and spec["replicas"] != live["replicas"]:
        edits.append((("spec", "replicas"), int(live["replicas"])))
    images = {c["name"]: c["image"] for c in live["containers"]}
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    for i, container in enumerate(containers):
        if container.get("name") in images and container.get("image") != images[container["name"]]:
            edits.append((("spec", "template", "spec", "containers", i, "image"), images[container["name"]]))
    return edits


def service_edits(doc: dict, selector: dict[str, str], where: str) -> list[tuple[Path, object]]:
    """The Service's selector as the release left it (blue/green may have added `version`); a
    key to drop is a person's edit."""
    held = (doc.get("spec") or {}).get("selector") or {}
    if set(held) - set(selector):
        raise NotEditable(f"the Service selector in {where} has {sorted(set(held) - set(selector))}, which the live "
                          "one does not: removing a key is left to a person")
    return [(("spec", "selector", k), str(v)) for k, v in selector.items() if k not in held or str(held[k]) != str(v)]
