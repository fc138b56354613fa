"""The GitOps loop closed by graybot: a successful release is written to the real Git repository
the sandbox's Argo CD reads (smart HTTP, basic auth), which syncs it and reports Synced; only then
does graybot hand reconciliation back. A push someone beat is rebased; a conflicting one holds the
hand-back and says why; pull-request mode opens a PR (GitHub's API, played by the Git host)."""
from __future__ import annotations

import json

import urllib3

from bot.adapters.edgestate import EdgeState
from bot.adapters.pullrequests import get_pull, open_pull
from bot.core.handback import HandBack
from bot.core.service import run_text
from bot.domain.model import Phase
from sandbox.gitserver import TOKEN
from sandbox.seed import apps_yaml
from tests.kit.gitops import AUTOMATED, automated
from tests.kit.gitrepo import DEPLOYMENT, RELEASED, REPO, SERVICE, changed_lines, git_managed, sync_status
from tests.kit.wait import wait_until
from tests.kit.world import NS, demo_world

TOKEN_VAR = "SANDBOX_GIT_TOKEN"


def world(sandbox, kube, redis_client, tmp_path, git_host, monkeypatch, token: str = TOKEN, **writeback):
    monkeypatch.setenv(TOKEN_VAR, token)
    doc = apps_yaml()
    doc["apps"]["user"]["gitops"] = {"policy": "suspend", "writeback": dict(
        {"repo": git_host.repo_url(REPO), "branch": "main", "path": "apps/user", "token_secret": TOKEN_VAR},
        **writeback)}
    w = demo_world(sandbox, kube, redis_client, tmp_path, doc)
    git_managed(git_host, kube)
    first = git_host.repos.head(REPO, "main")
    wait_until(lambda: sync_status(kube) == {"status": "Synced", "revision": first}, timeout=10,
               message="Argo CD has read the repository")
    return w


def released(w, heard: list | None = None):
    """A canary of user to v2 in two steps, approved to the end."""
    if heard is not None:
        w.engine.listeners.append(lambda rel, what, detail: heard.append((what, detail)))
    r = w.engine.settle(w.start("canary user-v2 --steps 50,100").id)
    EdgeState(w.store.r).set_message(r.id, "C0DEPLOY", "1767225600.000100")     # its thread in Slack
    while (r := w.engine.settle(r.id, timeout=30)).phase == Phase.WAITING:
        w.act("approve user")
    assert r.phase == Phase.SUCCEEDED, r.phase
    return r


def test_a_successful_release_is_committed_synced_and_handed_back(sandbox, kube, redis_client, tmp_path, git_host,
                                                                  monkeypatch):
    w = world(sandbox, kube, redis_client, tmp_path, git_host, monkeypatch)
    before = git_host.repos.head(REPO, "main")
    done = released(w)
    head = git_host.repos.head(REPO, "main")
    (commit, initial) = git_host.repos.log(REPO, "main")
    assert initial["sha"] == before and commit["sha"] == head and commit["author"].startswith("graybot <")
    message = commit["message"]
    assert message.startswith(f"graybot: user v1 -> v2 ({done.id})")
    assert "Approved-by: U_ALICE" in message and f"Graybot-Release: {done.id}#0" in message
    assert "Thread: https://slack.com/archives/C0DEPLOY/p1767225600000100" in message
    written = git_host.repos.read(REPO, head, "apps/user/deployment.yaml")
    assert sorted(changed_lines(DEPLOYMENT, written)) == sorted(RELEASED)       # only those lines; comments kept
    assert git_host.repos.read(REPO, head, "apps/user/service.yaml") == SERVICE   # its selector did not change
    wait_until(lambda: sync_status(kube) == {"status": "Synced", "revision": head}, timeout=10,
               message="Argo CD synced graybot's commit")
    objects = __import__("kubernetes").client.CustomObjectsApi(kube)
    wait_until(lambda: HandBack(w.engine).round() >= 0 and automated(objects) == AUTOMATED, timeout=15,
               message="reconciliation handed back (at once, or by the leader once Argo CD synced)")
    assert not HandBack(w.engine).held(done.id)
    status = run_text(w.engine, "status user", "U_ALICE").text
    assert f"Git: committed {head[:10]} to {git_host.repo_url(REPO)} (main): apps/user/deployment.yaml" in status
    assert "Git not yet updated" not in status
    assert w.kube.deployment(NS, "user-v1") is None and not sandbox.gitops.recreated   # Argo CD keeps v1 gone
    saved = json.dumps([w.store.r.get(k) for k in w.store.r.keys("graybot:*") if w.store.r.type(k) == "string"])
    assert TOKEN not in saved and TOKEN not in json.dumps(w.store.audit(done.id))
    w.store.r.delete(f"graybot:writeback:{done.id}#0")          # as if killed right after its push
    again = HandBack(w.engine).writeback.run(done.at_wave(0), 0)
    assert again["state"] == "committed" and again["commit"] == head and git_host.repos.head(REPO, "main") == head


def test_a_push_someone_beat_is_rebased_and_pushed_again(sandbox, kube, redis_client, tmp_path, git_host, monkeypatch):
    w = world(sandbox, kube, redis_client, tmp_path, git_host, monkeypatch)
    git_host.race(REPO, "main", {"apps/pay/deployment.yaml": "# another team's app, resized\n"}, "pay: resize")
    released(w)
    ours, theirs, _initial = git_host.repos.log(REPO, "main")
    assert theirs["message"] == "pay: resize" and ours["parents"] == [theirs["sha"]] and git_host.pushes.count(REPO) == 2
    assert sorted(changed_lines(DEPLOYMENT, git_host.repos.read(REPO, ours["sha"], "apps/user/deployment.yaml"))) == \
        sorted(RELEASED)
    assert git_host.repos.read(REPO, ours["sha"], "apps/pay/deployment.yaml") == "# another team's app, resized\n"
    wait_until(lambda: sync_status(kube) == {"status": "Synced", "revision": ours["sha"]}, timeout=10)


def test_a_conflicting_push_holds_the_hand_back_and_says_so(sandbox, kube, redis_client, tmp_path, git_host,
                                                           monkeypatch):
    w = world(sandbox, kube, redis_client, tmp_path, git_host, monkeypatch)
    hotfix = DEPLOYMENT.replace('"nginx:user-v1"', '"nginx:user-v1-hotfix"')
    git_host.race(REPO, "main", {"apps/user/deployment.yaml": hotfix}, "user: hotfix image")
    heard: list = []
    done = released(w, heard)
    (theirs, _initial) = git_host.repos.log(REPO, "main")                 # graybot's commit did not land
    assert theirs["message"] == "user: hotfix image"
    said = [d for what, d in heard if what == "gitops_written"]
    assert said and "conflicts: apps/user/deployment.yaml changed meanwhile by" in said[0] and "user: hotfix image" in said[0]
    held = [d for what, d in heard if what == "gitops_held"]
    assert held and "reconciliation stays suspended until Git holds the release" in held[0]
    objects = __import__("kubernetes").client.CustomObjectsApi(kube)
    assert automated(objects) is None and HandBack(w.engine).held(done.id)
    assert HandBack(w.engine).round() == 0 and automated(objects) is None      # still held: Git lacks v2
    status = run_text(w.engine, "status user", "U_ALICE").text
    assert "Git: graybot's commit to" in status and "reconciliation stays suspended" in status


def test_pull_request_mode_opens_one_and_hands_back_after_the_merge(sandbox, kube, redis_client, tmp_path, git_host,
                                                                   monkeypatch):
    w = world(sandbox, kube, redis_client, tmp_path, git_host, monkeypatch, mode="pull-request",
              api=git_host.url + "/api/v3")
    before = git_host.repos.head(REPO, "main")
    done = released(w)
    (pull,) = git_host.pulls[REPO]
    assert pull["state"] == "open" and pull["base"]["ref"] == "main" and pull["head"]["ref"] == f"graybot/{done.id}"
    assert git_host.repos.head(REPO, "main") == before                    # main waits for the merge
    proposed = git_host.repos.read(REPO, pull["head"]["sha"], "apps/user/deployment.yaml")
    assert sorted(changed_lines(DEPLOYMENT, proposed)) == sorted(RELEASED)
    status = run_text(w.engine, "status user", "U_ALICE").text
    assert f"opened pull request #1 for {git_host.repo_url(REPO)} (main): {pull['html_url']}" in status
    objects = __import__("kubernetes").client.CustomObjectsApi(kube)
    assert HandBack(w.engine).round() == 0 and automated(objects) is None
    merged = urllib3.PoolManager().request("PUT", git_host.url + f"/api/v3/repos/{REPO}/pulls/1/merge",
                                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert merged.status == 200
    head = git_host.repos.head(REPO, "main")
    wait_until(lambda: sync_status(kube) == {"status": "Synced", "revision": head}, timeout=10)
    wait_until(lambda: HandBack(w.engine).round() == 1, timeout=15, message="handed back after the merge")
    assert automated(objects) == AUTOMATED


def test_refused_credentials_are_said_without_the_token_and_change_nothing(sandbox, kube, redis_client, tmp_path,
                                                                          git_host, monkeypatch):
    w = world(sandbox, kube, redis_client, tmp_path, git_host, monkeypatch, token="not-the-token")
    before = git_host.repos.head(REPO, "main")
    heard: list = []
    done = released(w, heard)
    said = [d for what, d in heard if what == "gitops_written"]
    assert said and "refused graybot's credentials" in said[0] and "not-the-token" not in said[0]
    assert git_host.repos.head(REPO, "main") == before and git_host.refused and not git_host.pushes
    assert "not-the-token" not in json.dumps(w.store.audit(done.id))


def test_the_pull_request_apis_of_github_and_gitlab(git_host):
    git_host.repos.create("team/app", {"a.yaml": "a: 1\n"})
    base = git_host.repos.head("team/app", "main")
    git_host.repos.git("team/app", "update-ref", "refs/heads/feature", base)
    git_host.repos.commit("team/app", "feature", {"a.yaml": "a: 2\n"}, "a two")
    gitlab = git_host.url + "/api/v4"
    opened = open_pull(gitlab, "gitlab", "team/app", TOKEN, "feature", "main", "a two", "why")
    assert opened.number == 1 and "/-/merge_requests/1" in opened.url and opened.state == "open"
    merged = urllib3.PoolManager().request("PUT", gitlab + "/projects/team%2Fapp/merge_requests/1/merge",
                                           headers={"PRIVATE-TOKEN": TOKEN})
    assert merged.status == 200 and get_pull(gitlab, "gitlab", "team/app", TOKEN, 1).state == "merged"
    assert get_pull(git_host.url + "/api/v3", "github", "team/app", TOKEN, 1).state == "merged"
    assert git_host.repos.read("team/app", "main", "a.yaml") == "a: 2\n"
