"""Free text inside Slack mrkdwn is text: reasons, webhook answers, metric provider errors, field
manager names and operator notes come from people and systems graybot does not control, and must
not ping a channel (`<!channel>`), mention someone (`<@U...>`), dress a link (`<https://evil|ok>`),
forge a line of their own (a newline, a bidirectional override), or close a code span."""
from __future__ import annotations

import unicodedata

# bidirectional formatting characters: they can make a line read as something else
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BACKTICK_STAND_IN = "\u02cb"        # MODIFIER LETTER GRAVE ACCENT: looks like ` and closes nothing


def plain(text: object, one_line: bool = True) -> str:
    """`text` as literal characters in mrkdwn (Slack's escaping of &, < and >), without control
    or bidirectional characters; one line unless `one_line` is False (then newlines stay)."""
    kept = []
    for ch in str(text):
        if ch in "\n\r\t":
            kept.append("\n" if ch == "\n" and not one_line else " ")
        elif ch in BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            continue
        else:
            kept.append(ch)
    out = "".join(kept).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace("`", BACKTICK_STAND_IN)
