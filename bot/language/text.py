"""Plain-text views of releases for the terminal and for ephemeral replies (pure)."""
from __future__ import annotations

from datetime import datetime, timezone

from bot.domain.durations import format_duration
from bot.domain.model import Phase, Release
from bot.domain.names import STRATEGIES

from .grammar import USAGE
from .policy import POLICY_USAGE

MARK = {"done": "[x]", "current": "[>]", "next": "[ ]"}


def when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def stage_marks(release: Release) -> list[str]:
    marks = []
    for i in range(len(release.stages)):
        if i < release.stage or (i == release.stage and release.phase in (Phase.WAITING, Phase.SUCCEEDED)):
            marks.append("done")
        elif i == release.stage:
            marks.append("current")
        else:
            marks.append("next")
    return marks


def headline(release: Release) -> str:
    where = f" in {release.cluster}" if release.cluster and release.cluster != "default" and not release.in_waves else ""
    return (f"{release.app}: {release.strategy} {release.from_version} -> {release.to_version} "
            f"({release.image}), {release.replicas} replicas{where}")


def _stage_rows(stages, indent: str = "  ") -> list[str]:
    return [f"{indent}{i}. {stage.name:<14} new {stage.new_replicas:>3} / old {stage.old_replicas:>3}"
            f"  traffic {stage.weight:>3}%  {stage.note}" for i, stage in enumerate(stages, 1)]


def plan_text(release: Release, dry_run: bool = False) -> str:
    lines = [("Plan (dry run, nothing changed): " if dry_run else "") + headline(release)]
    if release.in_waves:
        every = release.command.wave_every
        lines.append(f"  in {len(release.waves)} waves, one cluster after another; each next wave starts "
                     + (f"{format_duration(every)} after the one before succeeded" if every else
                        "when a person approves it after the one before succeeded"))
        for i, wave in enumerate(release.waves, 1):
            lines.append(f"  wave {i}: {wave.cluster} (namespace {wave.namespace}, {wave.stable_name} "
                         f"{wave.from_version}, {wave.replicas} replicas)")
            lines += _stage_rows(wave.stages, "    ")
    else:
        lines += _stage_rows(release.stages)
    if release.command.match:
        m = release.command.match
        rule = f"header {m.name}={m.value}" if m.kind == "header" else f"cookie {m.name}=always"
        lines.append(f"  match rule: {rule}; router: {release.origin.get('router', '?')}")
    if release.command.bake:
        lines.append(f"  bake time per stage: {format_duration(release.command.bake)}")
    lines += gitops_lines(release)
    return "\n".join(lines)


def gitops_lines(release: Release) -> list[str]:
    """The GitOps controllers claiming what the release changes, and what graybot does about it."""
    gitops = release.origin.get("gitops") or {}
    what = {"suspend": "reconciliation suspended during the release, restored after",
            "ignore": "the controller ignores graybot's fields; a revert pauses the release"}
    return [f"  gitops: {c['target']} is managed by {'Argo CD' if c['tool'] == 'argocd' else 'Flux'} "
            f"{c['kind']} {c.get('namespace') + '/' if c.get('namespace') else ''}{c['name']}; "
            f"{what.get(str(gitops.get('policy')), gitops.get('policy'))}" for c in gitops.get("claims", [])]


def status_text(release: Release) -> str:
    lines = [f"{headline(release)}", f"  id {release.id}, requested by {release.requested_by} "
             f"at {when(release.created_at)}",
             f"  phase {release.phase.value}, stage {release.stage + 1}/{len(release.stages)} "
             f"({release.current.name}); last: {release.last_action} by {release.last_actor} "
             f"at {when(release.updated_at)}"]
    if release.reason:
        lines.append(f"  reason: {release.reason}")
    lines += gitops_lines(release)
    lines += wave_lines(release)
    for mark, stage in zip(stage_marks(release), release.stages):
        lines.append(f"  {MARK[mark]} {stage.name}: new {stage.new_replicas} / old {stage.old_replicas}, "
                     f"traffic {stage.weight}%")
    return "\n".join(lines)


def wave_lines(release: Release) -> list[str]:
    """One line per wave: its cluster and how far it got (none for a one-cluster release)."""
    out: list[str] = []
    if not release.in_waves:
        return out
    for i, wave in enumerate(release.waves):
        state = (f"running, stage {release.stage + 1}/{len(release.stages)} ({release.current.name})"
                 if i == release.wave and release.phase.live else wave.state.value)
        out.append(f"  wave {i + 1} {wave.cluster}: {state}" + ("  <- current" if i == release.wave else ""))
    return out


def only_wave(release: Release, cluster: str) -> Release:
    """`status APP --cluster NAME`: the release as that wave is."""
    names = [w.cluster for w in release.waves]
    return release.at_wave(names.index(cluster)) if cluster in names else release


def list_text(releases: list[Release]) -> str:
    if not releases:
        return "No active releases."
    return "\n".join(f"{r.app}: {r.strategy} -> {r.to_version}, {r.phase.value} at {r.current.name}"
                     + (f" in {r.cluster}" + (f" (wave {r.wave + 1}/{len(r.waves)})" if r.in_waves else "")
                        if r.cluster and r.cluster != "default" else "")
                     + f" (by {r.requested_by}, {r.id})" for r in releases)


def history_text(app: str, releases: list[Release]) -> str:
    if not releases:
        return f"No finished releases of {app}."
    return "\n".join(f"{when(r.updated_at)}  {r.strategy} {r.from_version} -> {r.to_version}: "
                     f"{r.phase.value}" + (f" ({r.reason})" if r.reason else "") + f"  by {r.requested_by}"
                     for r in releases)


def audit_line(row: dict) -> str:
    """One audit entry: when, release, cluster, who, what, the phases, the evidence."""
    moved = f"{row['before']} -> {row['after']}" if row.get("before") or row.get("after") else ""
    parts = [row["when"], row["release"], row.get("cluster") or "-", row.get("actor", ""), row.get("action", ""),
             moved, row.get("detail", "")]
    return "  ".join(p for p in parts if p)


def audit_text(app: str, rows: list[dict], total: int, broken: dict[str, list[str]]) -> str:
    if not rows:
        return f"No audit entries for {app}."
    head = f"Audit trail of {app}: the last {len(rows)} of {total} entries (`graybot audit {app}` lists all)"
    chain = ("hash chains intact" if not broken else
             "hash chain BROKEN: " + "; ".join(f"{r}: {', '.join(p)}" for r, p in broken.items()))
    return "\n".join([head, *(audit_line(r) for r in rows), chain])


def help_text(topic: str | None = None) -> str:
    if topic and topic in USAGE:
        return USAGE[topic]
    if topic and topic in POLICY_USAGE:
        return POLICY_USAGE[topic]
    lines = ["graybot moves an app to a new version in stages. Commands:"]
    lines += [f"  {USAGE[s]}" for s in STRATEGIES]
    lines += [f"  {USAGE[v]}" for v in ("mirror", "plan", "status", "list", "history", "audit", "gitops-diff", "mute", "approve", "pause",
                                         "resume", "rollback", "continue", "help")]
    lines += [f"  {POLICY_USAGE[v]}" for v in POLICY_USAGE]
    lines.append("Aliases: promote = approve, abort = rollback. Durations: 30s, 10m, 2h.")
    return "\n".join(lines)


def handback_yaml(app: str, release: Release, change: dict) -> str:
    """The change Git must now hold, as YAML a person (or a CI job) can commit."""
    d, svc = change["deployment"], change["service"]
    lines = [f"# {app}: what Git must hold after {release.id} ({release.from_version} -> {release.to_version})",
             "apiVersion: apps/v1", "kind: Deployment",
             f"metadata: {{name: {d['name']}, namespace: {d['namespace']}}}", "spec:",
             f"  replicas: {d['replicas']}", "  template:", "    spec:", "      containers:"]
    lines += [f"        - {{name: {c['name']}, image: \"{c['image']}\"}}" for c in d["containers"]]
    if change.get("retired"):
        lines.append(f"# and delete Deployment {change['retired']} (retired by the release)")
    selector = ", ".join(f"{k}: {v}" for k, v in sorted(svc["selector"].items()))
    lines += ["---", "apiVersion: v1", "kind: Service", f"metadata: {{name: {svc['name']}, namespace: {d['namespace']}}}",
              "spec:", f"  selector: {{{selector}}}"]
    return "\n".join(lines)
