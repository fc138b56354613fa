"""Slack worlds whose app `user` has approvers (alice, bob, carol and the LEADS group with U0LEAD)
and whatever release rules a test gives: the `make_sw` fixture of tests/scenarios/conftest.py."""
from __future__ import annotations

from sandbox.seed import apps_yaml

LEADS = "S0PRODLEADS"


def policy_doc(**rules) -> dict:
    doc = apps_yaml()
    doc["apps"]["user"].update(dict(dict(approvers=["U0ALICE", "U0BOB", "U0CAROL", LEADS], requester_can_approve=False),
                                    **rules))
    return doc
