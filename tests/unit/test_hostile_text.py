"""Text that reaches a channel is text: hostile reasons, evidence, notes and names, fed through
every place user or cluster text enters the live message and its thread, cannot ping the channel,
mention anyone, dress a link, start a line of their own or close a code span."""
from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

from bot.domain.model import Phase
from handlers.blocks import event_text, release_blocks, to_dicts
from handlers.mrkdwn import plain
from tests.kit.releases import release

HOSTILE = ["<!channel>", "<!here>", "<!everyone>", "<@U0BOSS>", "<https://evil.example|approve>", "<#C0ALL>",
           "\napproved *100%* by <@U0LEAD>", "\u202eevil\u202c", "\x00\x1b[31m", "``` ", "`", "&lt;!channel&gt;",
           "<!subteam^S0ALL>", "\u2028", "\r\n:tada: succeeded"]
EVENTS = ["start", "stage_healthy", "approve", "pause", "rollback", "gate_failed", "gate_inconclusive", "gate_held",
          "schedule", "rollback_done", "rollback_failed", "finished", "cluster_error", "policy_override", "vote",
          "wave_done", "wave_rolled_back", "something_new"]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20)), min_size=1, max_size=6).map("".join)


def leaks(text: str) -> list[str]:
    """What in a message could act as more than text, besides graybot's own mention of its requester."""
    text = text.replace("<@U1>", "")
    found = [s for s in ("<!", "<@", "<#", "<http", "\u202e", "\u2066", "\x1b", "\x00") if s in text]
    return found


@settings(max_examples=150, deadline=None)
@given(hostile=hostile_text, event=st.sampled_from(EVENTS), phase=st.sampled_from(list(Phase)))
def test_hostile_text_in_a_release_stays_text(hostile, event, phase):
    r = release(phase, 1).replace(reason=hostile, override=hostile, last_actor=hostile)
    line = event_text(r, event, hostile)
    assert leaks(line) == [] and "\n" not in line.replace("\n      ", "")
    assert leaks(json.dumps(to_dicts(release_blocks(r)), ensure_ascii=False)) == []
    assert "```" not in line


def test_plain_escapes_and_keeps_one_line():
    assert plain("<!channel> & <@U1>\nnext") == "&lt;!channel&gt; &amp; &lt;@U1&gt; next"
    assert plain("a\u202eb`c") == "ab\u02cbc"
    assert plain("one\ntwo", one_line=False) == "one\ntwo"
