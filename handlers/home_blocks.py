"""A person's board (bot/core/board.py) as graybot's Home tab: Block Kit within a Home view's
limits (100 blocks; section text 3000). Each live release shows the same buttons as its live
message, with the same signed values: a click from here goes through the same policy."""
from __future__ import annotations

from slack_sdk.models.blocks import (ActionsBlock, Block, ContextBlock, DividerBlock, HeaderBlock,
                                     MarkdownTextObject, PlainTextObject, SectionBlock)

from bot.core.board import Board
from bot.domain.model import Release
from bot.language.text import when

from .blocks import PHASE_ICON, _buttons, _clip
from .mention import who
from .mrkdwn import plain

SHOWN = 40              # live releases with their buttons (2 blocks each): a Home view holds 100 blocks
MAX_BLOCKS = 100


def home_view(board: Board, key: bytes, now: float) -> dict:
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text="graybot: releases")),
                           ContextBlock(elements=[MarkdownTextObject(text=f"updated {when(now)}; "
                                                                          "`/release help` for the commands")])]
    live = [(r, True) for r in board.awaiting] + [(r, False) for r in board.running]
    blocks += _section(f"*Waiting for your approval* ({len(board.awaiting)})" if board.awaiting else
                       "*Nothing waits for your approval.*")
    for i, (release, yours) in enumerate(live[:SHOWN]):
        if i == len(board.awaiting):
            blocks += [DividerBlock()] + _section(f"*Running* ({len(board.running)})")
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip(_line(release, yours), 2900))))
        buttons = _buttons(release, key)
        if buttons:
            blocks.append(ActionsBlock(block_id=f"home:{release.id}", elements=buttons))
    if len(live) > SHOWN:
        blocks += _section(f"_and {len(live) - SHOWN} more: `/release list` shows every one_")
    if not live:
        blocks += _section("_No release is running._")
    blocks += [DividerBlock()] + _section("*Freezes and windows in force*\n" + (
        "\n".join(f"• {plain(line)}" for line in board.freezes) if board.freezes else "_none_"))
    finished = "\n".join(f"{PHASE_ICON[r.phase]} *{r.app}* {r.from_version} → {r.to_version}, {r.phase.value} "
                         f"{when(r.updated_at)} (`{r.id}`)" for r in board.finished)
    blocks += _section("*Recently finished*\n" + (finished or "_none yet_"))
    assert len(blocks) <= MAX_BLOCKS
    return {"type": "home", "blocks": [b.to_dict() for b in blocks]}


def _section(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=_clip(text, 2900)))]


def _line(release: Release, yours: bool) -> str:
    where = f" in {release.cluster}" if release.cluster not in ("", "default") else ""
    waves = f", wave {release.wave + 1}/{len(release.waves)}" if release.in_waves else ""
    head = (f"{PHASE_ICON[release.phase]} *{release.app}* {release.strategy} {release.from_version} → "
            f"{release.to_version}{where}{waves}: stage {release.stage + 1}/{len(release.stages)} "
            f"*{release.current.name}*, {release.phase.value}")
    detail = f"requested by {who(release.requested_by)} {when(release.created_at)}"
    if release.reason:
        detail += f" · {plain(release.reason)}"
    return f"{head}{' · your approval' if yours else ''}\n{detail}"
