"""Release -> Block Kit (pure), with slack_sdk's models and inside Slack's limits
(Slack's limits: 50 blocks, section text 3000, header 150, button text 75, value 2000,
confirm title 100 / text 300). Button values are signed by bot.core.buttons."""
from __future__ import annotations


from slack_sdk.models.blocks import (ActionsBlock, Block, ButtonElement, ConfirmObject, ContextBlock,
                                     DividerBlock, HeaderBlock, MarkdownTextObject, PlainTextObject,
                                     SectionBlock)

from zoneinfo import ZoneInfo

from bot.core.buttons import button_value
from bot.domain import traits
from bot.domain.model import Phase, Release
from bot.domain.names import CONTROLLER_STRATEGY, SCHEDULER
from bot.domain.timing import describe
from bot.language.text import stage_marks, when

from . import wave_blocks
from .controller_blocks import controller_lines
from .mention import who as _who
from .mrkdwn import plain

ICON = {"done": ":white_check_mark:", "current": ":arrow_forward:", "next": ":white_circle:"}
PHASE_ICON = {Phase.PENDING: ":hourglass:", Phase.PROGRESSING: ":arrows_counterclockwise:",
              Phase.WAITING: ":raised_hand:", Phase.PAUSED: ":double_vertical_bar:",
              Phase.ROLLING_BACK: ":rewind:", Phase.ROLLED_BACK: ":leftwards_arrow_with_hook:",
              Phase.SUCCEEDED: ":tada:", Phase.FAILED: ":x:"}
SECTION_LIMIT, WINDOW = 2900, 12


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def rollback_effect(release: Release) -> str:
    if release.new_name == release.stable_name:
        return (f"{release.stable_name} gets its previous template ({release.from_version}) back; "
                f"its pods roll back to {release.from_version}.")
    return (f"{release.stable_name} is scaled back to {release.replicas} pods first, then "
            f"{release.new_name} is deleted; all traffic returns to {release.from_version}.")


def stage_lines(release: Release, live: dict | None = None) -> str:
    marks = stage_marks(release)
    rows = list(enumerate(zip(marks, release.stages)))
    if len(rows) > WINDOW:   # a long batch plan: keep the neighbourhood of the current stage
        lo = max(0, min(release.stage - 2, len(rows) - WINDOW))
        rows = rows[lo:lo + WINDOW]
    lines = []
    for i, (mark, stage) in rows:
        line = (f"{ICON[mark]} *{stage.name}*  new {stage.new_replicas} / old {stage.old_replicas}"
                f" · traffic {stage.weight}%")
        if i == release.stage and live:
            line += f"  _(ready now: new {live.get('new_ready', 0)} / old {live.get('old_ready', 0)})_"
        if stage.note and (i == release.stage or traits.of(release.strategy).notes_every_stage):
            line += f"\n      {stage.note}"
        lines.append(line)
    hidden = len(release.stages) - len(rows)
    if hidden:
        lines.append(f"_… {hidden} more stage(s); `/release status {release.app}` lists all_")
    return _clip("\n".join(lines), SECTION_LIMIT)


def _buttons(release: Release, key: bytes) -> list[ButtonElement]:
    value = lambda action: button_value(release, action, key)  # noqa: E731 - each button signs its own action
    buttons = []
    if release.phase == Phase.WAITING and (release.next_stage is not None or wave_blocks.at_wave_gate(release)):
        label = wave_blocks.approve_label(release) or f"Approve {release.next_stage.name}"
        buttons.append(ButtonElement(text=_clip(label, 75), action_id="approve", value=value("approve"), style="primary"))
    if release.phase in (Phase.PROGRESSING, Phase.WAITING):
        buttons.append(ButtonElement(text="Pause", action_id="pause", value=value("pause")))
    if release.phase == Phase.PAUSED and gate_hold(release):
        buttons.append(ButtonElement(text="Continue anyway", action_id="continue", value=value("continue"),
                                     confirm=ConfirmObject(title="Continue past the gate?",
                                                           text=_clip(f"The gate said: {plain(release.reason)}", 300),
                                                           confirm="Continue", deny="Cancel")))
    elif release.phase == Phase.PAUSED:
        buttons.append(ButtonElement(text="Resume", action_id="resume", value=value("resume"), style="primary"))
    if release.phase.live and release.phase != Phase.ROLLING_BACK:
        confirm = ConfirmObject(title=_clip(f"Roll back {release.app}?", 100),
                                text=_clip(rollback_effect(release), 300),
                                confirm="Roll back", deny="Cancel", style="danger")
        buttons.append(ButtonElement(text="Rollback", action_id="rollback", value=value("rollback"),
                                     style="danger", confirm=confirm))
    return buttons


def timer_text(release: Release) -> str:
    """When a timer advances the release next, in the release's own time zone."""
    due, opts = release.runtime.next_at, release.command
    if release.phase != Phase.WAITING or not due:
        return ""
    tz = ZoneInfo(opts.tz or "UTC")
    nxt = release.next_stage
    label = f"{release.next_wave.cluster} wave" if wave_blocks.at_wave_gate(release) else (nxt.name if nxt else "next")
    text = f":alarm_clock: *{label}* goes at {describe(due, tz)}"
    if opts.window:
        text += f" (only inside the window {opts.window} {opts.tz or 'UTC'})"
    if release.runtime.gray_approved:
        text += f"; gray batch approved by {_who(release.runtime.gray_approved)}"
    return text + "; Pause holds it"


def gate_hold(release: Release) -> bool:
    """Paused by a gate (failed with auto-rollback off, or no data), not by a person."""
    return release.last_action in ("gate_held", "gate_inconclusive")


def gate_text(release: Release) -> str:
    if (words := wave_blocks.gate_words(release)) is not None:
        return words
    if release.phase == Phase.WAITING:
        nxt = release.next_stage
        return f"Stage *{release.current.name}* is healthy; waiting for approval" + \
            (f" of *{nxt.name}*" if nxt else "")
    if release.phase == Phase.PROGRESSING:
        return f"Applying stage *{release.current.name}*; waiting until its pods are ready"
    if release.phase == Phase.PAUSED and release.last_action == "gate_held":
        return ":rotating_light: A gate failed and auto-rollback is off: roll back, or continue anyway"
    if release.phase == Phase.PAUSED and release.last_action == "gate_inconclusive":
        return ":warning: The metric gate had no answer: a human decides (roll back, or continue anyway)"
    if release.phase == Phase.PAUSED:
        return "Paused: nothing advances until someone resumes"
    if release.phase == Phase.ROLLING_BACK:
        return "Rolling back: " + rollback_effect(release)
    if release.phase == Phase.SUCCEEDED:
        return f"Done: {release.to_version} serves everything; {release.from_version} is retired"
    if release.phase == Phase.ROLLED_BACK:
        return f"Rolled back: {release.from_version} serves everything again"
    if release.phase == Phase.FAILED:
        return "Failed: even the rollback could not finish; a person must look"
    return "Planned"


def release_blocks(release: Release, live: dict | None = None, key: bytes = b"") -> list[Block]:
    kind = ((live or {}).get("controller") or {}).get("kind", "controller")
    strategy = f"{kind} steps" if release.strategy == CONTROLLER_STRATEGY else release.strategy
    title = f"{release.app}: {strategy} {release.from_version} → {release.to_version}"
    wave = f"{wave_blocks.where(release).strip()} " if wave_blocks.where(release) else ""
    fields = [MarkdownTextObject(text=f"*Phase*\n{PHASE_ICON[release.phase]} {release.phase.value}"),
              MarkdownTextObject(text=f"*Stage*\n{wave}{release.stage + 1}/{len(release.stages)}: "
                                      f"{release.current.name}"),
              MarkdownTextObject(text=f"*Image*\n`{_clip(release.image, 200)}`"),
              MarkdownTextObject(text=f"*Requested by*\n{_who(release.requested_by)}")]
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=_clip(title, 150))),
                           SectionBlock(fields=fields),
                           SectionBlock(text=MarkdownTextObject(text=stage_lines(release, live)))]
    if (controller := controller_lines(live)):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip(controller, SECTION_LIMIT))))
    if release.in_waves:
        blocks.insert(2, SectionBlock(text=MarkdownTextObject(text=_clip(wave_blocks.wave_lines(release, live),
                                                                         SECTION_LIMIT))))
    gate = gate_text(release)
    if release.reason:
        gate += f"\n*Reason:* {plain(release.reason)}"
    if release.override:
        gate += f"\n:warning: *Started past the release policy:* {plain(release.override)}"
    context = [MarkdownTextObject(text=_clip(gate, 2900))]
    if release.command.match or release.origin.get("router") not in (None, "replicas"):
        context.append(MarkdownTextObject(text=_clip(_routing(release), 2900)))
    if (timer := timer_text(release)):
        context.append(MarkdownTextObject(text=timer))
    if (votes := vote_text(release)):
        context.append(MarkdownTextObject(text=votes))
    if (release.origin.get("gitops") or {}).get("policy") == "suspend" and release.phase.live:
        context.append(MarkdownTextObject(text=f":double_vertical_bar: GitOps reconciliation suspended since "
                                               f"{when(release.created_at)}; restored when the release ends"))
    context.append(MarkdownTextObject(text=f"`{release.id}` · state v{release.version} · last: "
                                           f"{release.last_action} by {_who(release.last_actor)}"))
    blocks += [ContextBlock(elements=context)]
    buttons = _buttons(release, key)
    if buttons:
        blocks += [DividerBlock(), ActionsBlock(block_id="release_actions", elements=buttons)]
    return blocks


def listed(names: list[str], shown: int = 20) -> str:
    """A list of names (mentions) summarised after `shown`, whole names only: a mention is never cut."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def vote_text(release: Release) -> str:
    """Who has approved the current stage's move so far, and how many more it needs."""
    needed = release.command.approvals_needed
    votes = (release.runtime.votes or {}).get(str(release.stage), [])
    if release.phase != Phase.WAITING or needed <= 1:
        return ""
    who = listed([_who(v) for v in votes]) or "nobody yet"
    more = needed - len(votes)
    return f":ballot_box_with_check: approved by {who}: {len(votes)} of {needed}; {more} more needed"


def _routing(release: Release) -> str:
    text = f":twisted_rightwards_arrows: router *{release.origin.get('router', 'replicas')}*"
    match = release.command.match
    if match:
        rule = f"header `{match.name}{'~' if match.regex else '='}{match.value}`" \
            if match.kind == "header" else f"cookie `{match.name}=always`"
        text += f"; requests with {rule} always reach {release.to_version}"
    return text


def fallback_text(release: Release) -> str:
    return (f"{release.app}: {release.strategy} {release.from_version} -> {release.to_version}, "
            f"{release.phase.value} at {release.current.name}")


def to_dicts(blocks: list[Block]) -> list[dict]:
    return [b.to_dict() for b in blocks]


def event_text(release: Release, what: str, detail: str) -> str:
    """One thread reply per event: who did what, and why (and where, when it names a cluster).
    The detail is free text (evidence, reasons): plain, one line (the hand-back YAML keeps its lines)."""
    detail = plain(detail, one_line=what != "gitops_handback")
    return _clip(wave_blocks.where(release) + (wave_blocks.event_words(release, what, detail)
                                               or _event_words(release, what, detail)), 2900)


def _event_words(release: Release, what: str, detail: str) -> str:
    actor = _who(release.last_actor)
    texts = {
        "start": f"{actor} started {release.strategy} to *{release.to_version}*; applying "
                 f"*{release.current.name}*",
        "stage_healthy": f":white_check_mark: stage *{release.current.name}* is healthy"
                         + (f" ({detail})" if detail else ""),
        "approve": f"{actor} approved *{release.current.name}*",
        "approve_full": f"{actor} approved going straight to *{release.current.name}*",
        "pause": f"{actor} paused the release" + (f": {detail}" if detail else ""),
        "resume": f"{actor} resumed the release",
        "rollback": f":rewind: {actor} started a rollback" + (f": {detail}" if detail else ""),
        "gate_failed": f":rotating_light: gate failed: {detail}; rolling back automatically "
                       f"({_who(release.requested_by)})",
        "gate_inconclusive": f":warning: gate inconclusive: {detail}; paused for a human decision "
                             f"({_who(release.requested_by)})",
        "gate_held": f":rotating_light: gate failed: {detail}; auto-rollback is off, so the release "
                     f"is paused for a decision ({_who(release.requested_by)})",
        "override": f"{actor} continued past the gate at *{release.current.name}*",
        "schedule": (f":snowflake: {detail}" if release.last_actor == SCHEDULER and " is frozen until " in detail
                     else (f":alarm_clock: {actor} approved; " if release.last_actor != SCHEDULER else
                           ":alarm_clock: outside its window; ") + (timer_text(release)[15:] or "scheduled")),
        "vote": f":ballot_box_with_check: {actor} approved the move to *{release.next_stage.name if release.next_stage else ''}*; "
                f"{vote_text(release).split('; ')[-1] if vote_text(release) else 'waiting for more approvals'}",
        "rollback_done": f":leftwards_arrow_with_hook: rollback finished: {release.from_version} "
                         "serves everything",
        "rollback_failed": f":x: rollback failed: {detail} ({_who(release.requested_by)})",
        "finished": f":tada: {release.to_version} serves everything; {release.from_version} retired",
        "gitops_handback": f":arrows_counterclockwise: {release.app} is managed from Git: commit this, or the "
                           f"controller will put the old version back:\n```{detail}```",
        "cluster_error": f":warning: the cluster did not answer at *{release.current.name}*: {detail}; "
                         "graybot keeps retrying (pause and rollback still work)",
        "cluster_ok": f":white_check_mark: the cluster answers again; *{release.current.name}* goes on",
        "policy_override": f":warning: {detail}",
    }
    return texts.get(what, f"{what}: {detail}")
