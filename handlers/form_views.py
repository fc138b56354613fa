"""The start form's views (handlers/start_form.py): the modal's pieces, and what it shows once
its plan request is answered (the plan and Start, or why not). Apart from the listeners so that
the edge's replier can answer a form without importing them."""
from __future__ import annotations

import json

from bot.core.requests import Request, Said, Tone

from .mrkdwn import plain

FORM, CONFIRM, FORM_MARK = "release_start", "release_confirm", "form:"


def form_answer(said: Said, request: Request) -> dict:
    """What the modal shows once the plan request is answered: the plan and Start, or why not."""
    text = request.text.removeprefix("plan ")
    body = f"```{plain(said.text, one_line=False)[:2900]}```" if said.tone in (Tone.CODE, Tone.INFO) else \
        f":no_entry: {plain(said.text)[:2900]}"
    ok = said.tone in (Tone.CODE, Tone.INFO)
    return modal(CONFIRM, "Start a release", [section(body)],
                  {"channel": request.conversation, "text": text, "app": request.app}, submit="Start" if ok else None)


def modal(callback: str, title: str, blocks: list, meta: dict, submit: str | None = "Plan") -> dict:
    view = {"type": "modal", "callback_id": callback, "title": plain_text(title[:24]), "close": plain_text("Cancel"),
            "blocks": blocks, "private_metadata": json.dumps(meta)}
    if submit:
        view["submit"] = plain_text(submit)
    return view


def plain_text(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def select(block: str, label: str, options: list[str], initial: str | None = None, optional: bool = False) -> dict:
    element: dict = {"type": "static_select", "action_id": block,
                     "options": [{"text": plain_text(o), "value": o} for o in options[:100]]}
    if initial:
        element["initial_option"] = {"text": plain_text(initial), "value": initial}
    return {"type": "input", "block_id": block, "label": plain_text(label), "element": element, "optional": optional}


def text_input(block: str, label: str, placeholder: str, optional: bool = False) -> dict:
    return {"type": "input", "block_id": block, "label": plain_text(label), "optional": optional,
            "element": {"type": "plain_text_input", "action_id": block, "placeholder": plain_text(placeholder)}}
