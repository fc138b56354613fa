"""Fixtures shared by scenario files."""
from __future__ import annotations

import pytest

from tests.kit.policy import LEADS, policy_doc
from tests.kit.slack import start_slack_world, stop_slack_world


@pytest.fixture
def make_sw(sandbox, kube, redis_client, tmp_path):
    """make_sw(**rules): a Slack world with the policy apps (tests/kit/policy.py); a file may
    define its own make_sw instead."""
    made = []

    def make(**rules):
        sw = start_slack_world(sandbox, kube, redis_client, tmp_path, policy_doc(**rules),
                               groups={LEADS: ["U0LEAD"]})
        made.append(sw)
        return sw
    yield make
    for sw in made:
        stop_slack_world(sw)
