"""Every message and Home tab graybot builds stays inside Slack's Block Kit limits, whatever the
release (many waves and stages, long names, many voters, long reasons), and a long text is
summarised, never cut in the middle of a mention or a link."""
from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st

from bot.domain.model import Phase, Stage, Wave, WaveState
from bot.domain.state import Runtime, SavedCommand
from bot.core.board import Board
from handlers.blocks import event_text, fallback_text, release_blocks, to_dicts
from handlers.home_blocks import home_view
from tests.kit.releases import release

LIMITS = {"blocks": 50, "home_blocks": 100, "section": 3000, "field": 2000, "header": 150, "button": 75, "value": 2000,
          "context_elements": 10, "confirm_title": 100, "confirm_text": 300}
OPEN_ENTITY = re.compile(r"<[^>]*$")          # a mention or link cut before its closing >


def stages(n: int) -> tuple[Stage, ...]:
    return tuple(Stage(f"batch {i + 1}/{n}", round(100 * (i + 1) / n), i + 1, n - i - 1, "note " * 40)
                 for i in range(n))


@st.composite
def releases(draw):
    n_stages = draw(st.integers(1, 21))
    n_waves = draw(st.integers(1, 12))
    plan = stages(n_stages)
    waves = tuple(Wave(f"cluster-{i}-" + "x" * draw(st.integers(0, 40)), "default", "v1", "user-v1", "user-v2", 10,
                       plan, {}, WaveState.DONE if i < n_waves // 2 else WaveState.PENDING) for i in range(n_waves))
    index = n_waves // 2
    voters = [f"U{i:08d}" for i in range(draw(st.integers(0, 400)))]
    reason = draw(st.text(min_size=0, max_size=5000)) + " <@U0LONG>" * draw(st.integers(0, 300))
    r = release(draw(st.sampled_from(list(Phase))), draw(st.integers(0, n_stages - 1)), stages=plan,
                app="a" * draw(st.integers(1, 63)), image="registry.example.com/" + "i" * draw(st.integers(1, 400)),
                to_version="v" + "9" * draw(st.integers(1, 60)))
    return r.replace(waves=waves, wave=index, reason=reason, override=reason[:2000],
                     runtime=Runtime(votes={str(r.stage): voters}), last_actor=voters[-1] if voters else "graybot",
                     command=SavedCommand(approvals_needed=draw(st.integers(1, 500))))


def texts_of(block: dict) -> list[str]:
    out = []
    if isinstance(block.get("text"), dict):
        out.append(block["text"]["text"])
    for field in block.get("fields") or []:
        out.append(field["text"])
    for element in block.get("elements") or []:
        if isinstance(element.get("text"), dict):
            out.append(element["text"]["text"])
        elif "text" in element:
            out.append(element["text"])
    return out


def assert_within_limits(blocks: list[dict], most: int) -> None:
    assert len(blocks) <= most
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= LIMITS["header"]
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= LIMITS["section"]
            assert all(len(f["text"]) <= LIMITS["field"] for f in block.get("fields") or [])
        if block["type"] == "context":
            assert len(block["elements"]) <= LIMITS["context_elements"]
            assert all(len(e["text"]) <= LIMITS["section"] for e in block["elements"])
        if block["type"] == "actions":
            for button in block["elements"]:
                assert len(button["text"]["text"]) <= LIMITS["button"] and len(button["value"]) <= LIMITS["value"]
                if "confirm" in button:
                    assert len(button["confirm"]["title"]["text"]) <= LIMITS["confirm_title"]
                    assert len(button["confirm"]["text"]["text"]) <= LIMITS["confirm_text"]
        for text in texts_of(block):
            assert not OPEN_ENTITY.search(text), text[-80:]


@settings(max_examples=120, deadline=None)
@given(r=releases())
def test_every_live_message_is_inside_slacks_limits(r):
    assert_within_limits(to_dicts(release_blocks(r, {"new_ready": 3, "old_ready": 7}, b"k")), LIMITS["blocks"])
    assert len(fallback_text(r)) <= 3000


@settings(max_examples=40, deadline=None)
@given(live=st.lists(releases(), max_size=60), done=st.lists(releases(), max_size=10),
       freezes=st.lists(st.text(max_size=300), max_size=40), split=st.integers(0, 60))
def test_every_home_tab_is_inside_slacks_limits(live, done, freezes, split):
    board = Board(tuple(live[:split]), tuple(live[split:]), tuple(freezes), tuple(done))
    view = home_view(board, b"k", 1767225600.0)
    assert view["type"] == "home"
    assert_within_limits(view["blocks"], LIMITS["home_blocks"])


@settings(max_examples=60, deadline=None)
@given(r=releases(), what=st.sampled_from(["pause", "gate_failed", "rollback", "finished", "vote", "wave_done"]))
def test_every_thread_line_is_inside_slacks_limits(r, what):
    line = event_text(r, what, r.reason)
    assert len(line) <= 3000 and not OPEN_ENTITY.search(line)


@settings(max_examples=40, deadline=None)
@given(r=releases(), said=st.text(max_size=6000), apps=st.integers(0, 150))
def test_every_page_and_start_form_view_is_inside_slacks_limits(r, said, apps):
    from bot.core.requests import Request, Said, Tone
    from handlers.form_views import modal, select, form_answer
    from handlers.paging import Pager

    pager = Pager.__new__(Pager)
    pager.button_key = b"k"
    assert_within_limits(pager._blocks(r), LIMITS["blocks"])
    names = [f"app-{i:03d}" + "x" * 50 for i in range(apps)]
    form = modal("release_start", "Start a release", [select("app", "App", names)], {"channel": "C1"})
    assert len(form["blocks"][0]["element"]["options"]) <= 100 and len(form["title"]["text"]) <= 24
    for tone in (Tone.CODE, Tone.REFUSED):
        view = form_answer(Said(said, tone), Request("command", "", "U1", "C1", text="plan canary user-v2"))
        assert_within_limits(view["blocks"], LIMITS["home_blocks"])
