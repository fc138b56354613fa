"""`/release ...` text -> a typed Command, or UsageError naming the problem and the right form.

Pure: it needs only the registered app names (APP-VERSION splits at the longest one).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Iterable

from bot.domain.state import Match, SavedCommand
from bot.domain.names import MATCHING_ROUTERS, MIRROR_ROUTERS, QUERIES, ROUTERS, STICKY_ROUTERS, STRATEGIES, VERBS

__all__ = ["USAGE", "Match", "parse"]

from . import values
from .errors import UsageError
from .policy import PolicyCommand, is_policy, parse_policy
from .usage import USAGE
from .waves import WAVE_OPTIONS, action_cluster, wave_fields

DEFAULT_STEPS = (10, 30, 50, 100)
_TOKEN = re.compile(r"^[A-Za-z0-9._:=%,+/-]+$")
_VERSION = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
_HEADER = re.compile(r"^header:([A-Za-z0-9-]{1,64})=([A-Za-z0-9._-]{1,128})$")
_HEADER_REGEX = re.compile(r"^header:([A-Za-z0-9-]{1,64})~([^\s<>&`'\"]{1,128})$")
_COOKIE = re.compile(r"^cookie:([A-Za-z0-9_-]{1,64})$")
# options per strategy: name -> takes a value
_COMMON = {"--bake": True, "--no-auto-rollback": False, **WAVE_OPTIONS}
OPTIONS = {
    "canary": {"--steps": True, "--router": True, "--auto": True, "--sticky": False, "--mirror": True, **_COMMON},
    "ab": {"--steps": True, "--router": True, **_COMMON},
    "bluegreen": dict(_COMMON), "recreate": dict(_COMMON),
    "rolling": {"--max-surge": True, "--max-unavailable": True, **_COMMON},
    "batch": {"--gray": True, "--batches": True, "--every": True, "--at": True, "--window": True,
              "--tz": True, "--manual": False, **_COMMON},
}


@dataclass(frozen=True, kw_only=True)
class StartCommand(SavedCommand):
    """A start command: what to release, and its options (the fields of SavedCommand, which is
    what a release keeps of it)."""
    strategy: str
    app: str
    version: str
    steps: tuple[int, ...] = DEFAULT_STEPS

    def saved(self, **more: object) -> SavedCommand:
        """What the release keeps: the options, without what the release records itself."""
        return SavedCommand(**dict({f.name: getattr(self, f.name) for f in dataclasses.fields(SavedCommand)},
                                   **more))


@dataclass(frozen=True)
class ActionCommand:
    verb: str            # approve | pause | resume | rollback | continue
    app: str
    full: bool = False
    batches: bool = False
    all_waves: bool = False       # rollback --all-waves: undo the finished waves too, newest first
    now: bool = False             # approve --now: go now even outside the release's --window
    cluster: str | None = None    # the wave the person means; refused when another one is running


@dataclass(frozen=True)
class QueryCommand:
    verb: str            # status | list | history | audit | help | gitops-diff
    app: str | None = None
    topic: str | None = None
    cluster: str | None = None


Command = StartCommand | ActionCommand | QueryCommand | PolicyCommand


def _either(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]


def _tokens(text: str) -> list[str]:
    text = text.replace("\u2014", "--").replace("\u2013", "--")  # Slack's autocorrected dashes
    tokens = text.split()
    for tok in tokens:
        if not _TOKEN.match(tok) and not _HEADER_REGEX.match(tok):
            raise UsageError(f"unexpected characters in {tok[:40]!r}", "/release help")
    return tokens


def _app_name(token: str, apps: Iterable[str], usage: str) -> str:
    if token not in apps:
        raise UsageError(f"unknown app {token[:40]!r}; known apps: {', '.join(sorted(apps)) or 'none'}",
                         usage)
    return token


def split_app_version(token: str, apps: Iterable[str], usage: str) -> tuple[str, str]:
    for name in sorted(apps, key=len, reverse=True):
        if token == name:
            raise UsageError(f"version missing: write APP-VERSION, e.g. {name}-v2", usage)
        if token.startswith(name + "-"):
            version = token[len(name) + 1:]
            if not _VERSION.match(version):
                raise UsageError(f"version {version[:40]!r} is not a DNS-1123 label "
                                 "(lowercase letters, digits, '-', '.')", usage)
            return name, version
    raise UsageError(f"unknown app in {token[:40]!r}; known apps: {', '.join(sorted(apps)) or 'none'}",
                     usage)


def _options(strategy: str, args: list[str], usage: str) -> tuple[dict[str, str | bool], list[str]]:
    allowed, rest = OPTIONS[strategy], []
    found: dict[str, str | bool] = {}
    it = iter(args)
    for tok in it:
        if not tok.startswith("--"):
            rest.append(tok)
            continue
        if tok not in allowed:
            raise UsageError(f"{strategy} does not take {tok}", usage)
        if tok in found:
            raise UsageError(f"{tok} given twice", usage)
        if allowed[tok]:
            value = next(it, None)
            if value is None or value.startswith("--"):
                raise UsageError(f"{tok} needs a value", usage)
            found[tok] = value
        else:
            found[tok] = True
    return found, rest


def _start(tokens: list[str], apps: list[str], dry_run: bool) -> StartCommand:
    strategy = tokens[0]
    usage = USAGE[strategy]
    if len(tokens) < 2:
        raise UsageError("APP-VERSION missing", usage)
    app, version = split_app_version(tokens[1], apps, usage)
    opts, rest = _options(strategy, tokens[2:], usage)
    fields: dict = {"strategy": strategy, "app": app, "version": version, "dry_run": dry_run,
                    "auto_rollback": "--no-auto-rollback" not in opts}
    if "--bake" in opts:
        fields["bake"] = values.duration("--bake", str(opts["--bake"]), usage)
    wave_fields(fields, opts, usage)
    if strategy == "canary":
        _canary_fields(fields, opts, rest, usage)
    elif strategy == "ab":
        _ab_fields(fields, opts, rest, usage)
    elif strategy == "rolling":
        for opt, key in (("--max-surge", "max_surge"), ("--max-unavailable", "max_unavailable")):
            if opt in opts:
                fields[key] = values.surge(opt, str(opts[opt]), usage)
        if fields.get("max_surge") in ("0", "0%") and fields.get("max_unavailable") in ("0", "0%"):
            raise UsageError("--max-surge and --max-unavailable cannot both be 0", usage)
    elif strategy == "batch":
        _batch_fields(fields, opts, usage)
    if rest and strategy not in ("canary", "ab"):
        raise UsageError(f"unexpected {rest[0][:40]!r}", usage)
    return StartCommand(**fields)


def _canary_fields(fields: dict, opts: dict, rest: list[str], usage: str) -> None:
    if len(rest) > 1:
        raise UsageError(f"unexpected {rest[1][:40]!r}", usage)
    if rest and "--steps" in opts:
        raise UsageError("give either a first weight (10%) or --steps, not both", usage)
    if rest:
        first = values.percent(rest[0], usage)
        fields["steps"] = (first,) + tuple(s for s in DEFAULT_STEPS if s > first)
    elif "--steps" in opts:
        fields["steps"] = values.steps(str(opts["--steps"]), usage)
    if "--router" in opts:
        if opts["--router"] not in ROUTERS:
            raise UsageError(f"--router {opts['--router']!r} must be {_either(ROUTERS)}", usage)
        fields["router"] = opts["--router"]
    if "--auto" in opts:
        fields["auto"] = values.duration("--auto", str(opts["--auto"]), usage)
    if opts.get("--sticky"):
        if fields.get("router") and fields["router"] not in STICKY_ROUTERS:
            raise UsageError(f"--sticky needs --router {'|'.join(STICKY_ROUTERS)} (it sets a cookie on "
                             "the new version's responses)", usage)
        fields["sticky"] = True
    if "--mirror" in opts:
        if fields.get("router") and fields["router"] not in MIRROR_ROUTERS:
            raise UsageError(f"--mirror needs --router {'|'.join(MIRROR_ROUTERS)} (it copies requests)", usage)
        fields["mirror"] = values.percent(str(opts["--mirror"]), usage)


def mirror_tokens(args: list[str]) -> list[str]:
    """`mirror APP-VERSION P% [--for D] [...]` is `canary APP-VERSION --mirror P% [--bake D] [...]`:
    a shadow stage first, judged for D by the metric gates, then the canary's steps."""
    usage = USAGE["mirror"]
    if len(args) < 2 or args[1].startswith("--"):
        raise UsageError("give the app's new version and the share of requests to copy: mirror user-v2 20%",
                         usage)
    rest = list(args[2:])
    if "--for" in rest:
        i = rest.index("--for")
        if i + 1 >= len(rest):
            raise UsageError("--for needs a value", usage)
        rest[i] = "--bake"
    return ["canary", args[0], "--mirror", args[1]] + rest


def _ab_fields(fields: dict, opts: dict, rest: list[str], usage: str) -> None:
    if len(rest) != 1:
        raise UsageError("give one match rule: header:NAME=VALUE, header:NAME~REGEX or cookie:NAME", usage)
    if m := _HEADER.match(rest[0]):
        fields["match"] = Match("header", m.group(1), m.group(2))
    elif m := _HEADER_REGEX.match(rest[0]):
        fields["match"] = Match("header", m.group(1), values.regex(m.group(2), usage), regex=True)
    elif m := _COOKIE.match(rest[0]):
        fields["match"] = Match("cookie", m.group(1))
    else:
        raise UsageError(f"{rest[0][:40]!r} is not header:NAME=VALUE or cookie:NAME", usage)
    if "--router" in opts:
        if opts["--router"] not in MATCHING_ROUTERS:
            raise UsageError(f"A/B needs --router {_either(MATCHING_ROUTERS)} (replicas cannot match requests)",
                             usage)
        fields["router"] = opts["--router"]
    if "--steps" in opts:
        fields["steps"] = values.steps(str(opts["--steps"]), usage)


def _batch_fields(fields: dict, opts: dict, usage: str) -> None:
    if "--gray" in opts:
        fields["gray"] = values.count("--gray", str(opts["--gray"]), usage, 1, 2)
    if "--batches" in opts:
        fields["batches"] = values.count("--batches", str(opts["--batches"]), usage, 1, 20)
    if "--every" in opts:
        fields["every"] = values.duration("--every", str(opts["--every"]), usage)
    if "--at" in opts:
        fields["at"] = values.clock("--at", str(opts["--at"]), usage)
    if "--window" in opts:
        fields["window"] = values.window(str(opts["--window"]), usage)
    if "--tz" in opts:
        fields["tz"] = values.zone(str(opts["--tz"]), usage)
    fields["manual"] = bool(opts.get("--manual"))
    if fields["manual"] and "--every" in opts:
        raise UsageError("--manual and --every do not go together", usage)


def _action(verb: str, args: list[str], apps: list[str]) -> ActionCommand:
    usage = USAGE[verb]
    if not args:
        raise UsageError("APP missing", usage)
    app = _app_name(args[0], apps, usage)
    cluster, args = action_cluster(args, usage)
    flags = {"approve": {"--full", "--now"}, "rollback": {"--batches", "--all-waves"}}.get(verb, set())
    for extra in args[1:]:
        if extra not in flags:
            raise UsageError(f"unexpected {extra[:40]!r}", usage)
    if "--batches" in args[1:] and "--all-waves" in args[1:]:
        raise UsageError("--batches and --all-waves do not go together", usage)
    return ActionCommand(verb, app, full="--full" in args[1:], batches="--batches" in args[1:],
                         all_waves="--all-waves" in args[1:], cluster=cluster, now="--now" in args[1:])


def _query(verb: str, args: list[str], apps: list[str]) -> QueryCommand:
    usage = USAGE[verb]
    cluster, args = action_cluster(args, usage) if verb in ("status", "gitops-diff") else (None, args)
    limit = {"list": 0, "status": 1, "history": 1, "audit": 1, "help": 1, "gitops-diff": 1, "mute": 0, "unmute": 0}[verb]
    if len(args) > limit:
        raise UsageError(f"unexpected {args[limit][:40]!r}", usage)
    if verb == "help":
        return QueryCommand("help", topic=args[0].lower() if args else None)
    if verb in ("history", "audit", "gitops-diff") and not args:
        raise UsageError("APP missing", usage)
    if cluster and not args:
        raise UsageError(f"{verb} --cluster needs an APP", usage)
    return QueryCommand(verb, app=_app_name(args[0], apps, usage) if args else None, cluster=cluster)


def parse(text: str, apps: Iterable[str]) -> Command:
    """Parse the text after `/release` (or `graybot release`)."""
    apps = list(apps)
    if is_policy(text):
        return parse_policy(text, apps)
    tokens = _tokens(text)
    if not tokens:
        return QueryCommand("help")
    head, args = tokens[0].lower(), tokens[1:]
    if head == "mirror":
        return _start(mirror_tokens(args), apps, dry_run=False)
    if head == "plan":
        if args and args[0].lower() == "mirror":
            return _start(mirror_tokens(args[1:]), apps, dry_run=True)
        if not args or args[0].lower() not in STRATEGIES:
            raise UsageError("plan needs a strategy line", USAGE["plan"])
        return _start([args[0].lower()] + args[1:], apps, dry_run=True)
    if head in STRATEGIES:
        return _start([head] + args, apps, dry_run=False)
    if head in VERBS:
        return _action(VERBS[head], args, apps)
    if head in QUERIES:
        return _query(head, args, apps)
    raise UsageError(f"unknown command {head[:40]!r}; strategies: {', '.join(STRATEGIES)}",
                     "/release help")
