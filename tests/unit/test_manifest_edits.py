"""Editing manifests in place (bot/adapters/manifests.py) and what write-back changes
(bot/domain/writeback.py): only the values meant, each on its own line, comments, quoting and
flow style kept; what cannot be done in place is refused, never half done."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters import manifests
from bot.domain.writeback import NotEditable, deployment_edits, parse_gitops, service_edits
from tests.kit.gitrepo import DEPLOYMENT, RELEASED, changed_lines

LIVE = {"name": "user-v2", "replicas": 10, "containers": [{"name": "user", "image": "nginx:user-v2"}],
        "labels": {k: {"app": "user", "version": "v2", "app.kubernetes.io/instance": "user"}
                   for k in ("metadata", "selector", "template")}}


def test_a_release_changes_only_its_lines_and_keeps_comments_and_quotes():
    doc = manifests.documents(DEPLOYMENT)[0]
    after = manifests.edit(DEPLOYMENT, 0, deployment_edits(doc, LIVE))
    assert sorted(changed_lines(DEPLOYMENT, after)) == sorted(RELEASED)
    again = manifests.documents(after)[0]
    assert deployment_edits(again, LIVE) == []                     # nothing left to change


def test_replicas_change_when_git_sets_them_and_single_quotes_stay_single():
    text = "kind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 3 # three\n  template:\n    spec:\n" \
           "      containers:\n      - name: api\n        image: 'reg/api:1.0'\n"
    live = dict(LIVE, name="api", replicas=5, containers=[{"name": "api", "image": "reg/api:1.1"}])
    after = manifests.edit(text, 0, deployment_edits(manifests.documents(text)[0], live))
    assert changed_lines(text, after) == ["-  replicas: 3 # three", "+  replicas: 5 # three",
                                          "-        image: 'reg/api:1.0'", "+        image: 'reg/api:1.1'"]


@pytest.mark.parametrize("selector, added", [
    ("  selector:\n    app: user   # all versions\n", "+    version: v2"),
    ("  selector: {app: user}  # flow\n", "+  selector: {app: user, version: v2}  # flow"),
])
def test_a_selector_key_blue_green_added_is_added_in_the_same_style(selector, added):
    text = "kind: Service\nmetadata:\n  name: user\nspec:\n" + selector + "  ports:\n  - port: 80\n"
    doc = manifests.documents(text)[0]
    after = manifests.edit(text, 0, service_edits(doc, {"app": "user", "version": "v2"}, "svc.yaml"))
    assert added in changed_lines(text, after)
    assert manifests.documents(after)[0]["spec"]["selector"] == {"app": "user", "version": "v2"}


def test_a_selector_key_to_drop_is_left_to_a_person():
    doc = manifests.documents("kind: Service\nmetadata: {name: user}\nspec:\n  selector: {app: user, tier: web}\n")[0]
    with pytest.raises(NotEditable, match=r"\['tier'\].*removing a key is left to a person"):
        service_edits(doc, {"app": "user"}, "svc.yaml")


def test_a_value_that_is_not_a_one_line_scalar_is_refused():
    text = "kind: Deployment\nmetadata:\n  name: |\n    user-v1\n"
    with pytest.raises(manifests.ManifestError, match="not a one-line scalar"):
        manifests.edit(text, 0, [(("metadata", "name"), "user-v2")])


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30),
       st.sampled_from(['image: "nginx:1"', "image: 'nginx:1'", "image: nginx:1"]))
def test_any_value_reads_back_exactly_and_changes_one_line(value, line):
    text = f"spec:\n  containers:\n  - name: a\n    {line}   # kept\n  - name: b\n"
    after = manifests.edit(text, 0, [(("spec", "containers", 0, "image"), value)])
    assert manifests.documents(after)[0]["spec"]["containers"][0]["image"] == value
    removed, added = changed_lines(text, after)
    assert removed == f"-    {line}   # kept" and added.endswith("   # kept")


def test_write_back_settings_mistakes_are_all_reported():
    problems: list[str] = []
    parse_gitops({"policy": "suspend", "writeback": {"repo": "https://bot:secret@git.example/a/b.git", "mode": "push",
                                                     "path": "../x", "colour": 1, "author": "graybot"}},
                 "apps.user", problems)
    said = "\n".join(problems)
    for expected in ("writeback.colour: unknown key", "no credentials in the URL", "mode: must be one of commit, "
                     "pull-request", "token_secret: an HTTPS repository needs", "path: '../x' must be relative",
                     "author: 'graybot' is not like"):
        assert expected in said
    problems = []
    assert parse_gitops({"writeback": {"repo": "https://git.example/a/b.git", "mode": "pull-request",
                                       "token_secret": "GIT_TOKEN"}}, "apps.user", problems) == (None, None)
    assert problems == ["apps.user.gitops.writeback.api: pull-request mode needs the REST API's base URL "
                        "(https://api.github.com, https://gitlab.example/api/v4)"]
    assert parse_gitops("suspend", "apps.user", problems)[0] == "suspend"
