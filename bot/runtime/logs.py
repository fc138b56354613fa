"""Logging for every graybot process: one line per record, whatever its values hold. A value with
a newline cannot forge a log line (control characters are escaped), a request that fails its
signature is logged by its length, never its body (Bolt would log the whole body at INFO: 1 MB
per forged request), and Slack's response URLs (a credential for 30 minutes) are not written."""
from __future__ import annotations

import logging
import re

RESPONSE_URL = re.compile(r"https://hooks\.slack\.com/[^\s'\"&]+")
SIGNATURE_FAILURE = re.compile(r"Invalid request signature detected.*?body: (.*)\)$", re.S)
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


class SafeRecords(logging.Filter):
    """Rewrites each record's message before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:             # a record whose arguments do not fit its format: say so, once
            message = f"{record.msg!r} (unformattable arguments)"
        if (failed := SIGNATURE_FAILURE.search(message)) is not None:
            message = f"invalid request signature (body of {len(failed.group(1))} characters not logged)"
        record.msg, record.args = one_line(RESPONSE_URL.sub("https://hooks.slack.com/[redacted]", message)), ()
        return True


def setup(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(SafeRecords())
    quiet_third_party()


def quiet_third_party() -> None:
    """What libraries log that is noise here."""
    # waitress warns "Task queue depth is N" for each request that waits for a free thread: dozens
    # of lines for every burst of clicks, written by the process that acks, and nothing to act
    # on (the ack histogram in /metrics says how long requests waited)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
