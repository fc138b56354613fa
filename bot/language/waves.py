"""The cluster options of the grammar: `--cluster NAME` (one cluster), `--waves a,b,c` (one cluster
after another), `--wave-every DURATION` (move on without a person), and `--cluster` on the other
commands. Names are checked for shape here; whether they exist is the engine's question."""
from __future__ import annotations

import re

from . import values
from .errors import UsageError

WAVE_OPTIONS = {"--cluster": True, "--waves": True, "--wave-every": True}
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def cluster_name(text: str, usage: str) -> str:
    if not _NAME.match(text):
        raise UsageError(f"{text[:40]!r} is not a cluster name (lowercase letters, digits, '-')", usage)
    return text


def wave_fields(fields: dict, opts: dict, usage: str) -> None:
    if "--cluster" in opts and "--waves" in opts:
        raise UsageError("give either --cluster NAME (one cluster) or --waves a,b (one after another), "
                         "not both", usage)
    if "--cluster" in opts:
        fields["cluster"] = cluster_name(str(opts["--cluster"]), usage)
    if "--waves" in opts:
        names = tuple(cluster_name(n, usage) for n in str(opts["--waves"]).split(",") if n)
        if len(set(names)) != len(names):
            raise UsageError(f"--waves {opts['--waves']}: a cluster is named twice", usage)
        if not names:
            raise UsageError("--waves needs cluster names, e.g. --waves staging,prod", usage)
        fields["waves"] = names
    if "--wave-every" in opts:
        if "--cluster" in opts:
            raise UsageError("--wave-every is for --waves (one cluster has no next wave)", usage)
        fields["wave_every"] = values.duration("--wave-every", str(opts["--wave-every"]), usage)


def action_cluster(args: list[str], usage: str) -> tuple[str | None, list[str]]:
    """(`--cluster NAME` if given, the other arguments)."""
    if "--cluster" not in args:
        return None, args
    at = args.index("--cluster")
    if at + 1 >= len(args) or args[at + 1].startswith("--"):
        raise UsageError("--cluster needs a value", usage)
    if args.count("--cluster") > 1:
        raise UsageError("--cluster given twice", usage)
    return cluster_name(args[at + 1], usage), args[:at] + args[at + 2:]
