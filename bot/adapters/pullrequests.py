"""Opening a pull request (GitHub: `POST /repos/OWNER/REPO/pulls`) or a merge request (GitLab:
`POST /projects/ID/merge_requests`) for a branch graybot pushed, and reading its state back; one
deadline per call (outbound.py), the token in a header, never in a URL or a message."""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from .outbound import Unanswered, call


class PullRequestFailed(Exception):
    pass


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    state: str          # open | merged | closed


def open_pull(api: str, provider: str, project: str, token: str, head: str, base: str, title: str, body: str,
              deadline: float = 15.0) -> PullRequest:
    if provider == "gitlab":
        url = f"{api.rstrip('/')}/projects/{quote(project, safe='')}/merge_requests"
        doc = {"source_branch": head, "target_branch": base, "title": title, "description": body}
    else:
        url = f"{api.rstrip('/')}/repos/{project}/pulls"
        doc = {"head": head, "base": base, "title": title, "body": body}
    answer = _call(url, deadline, "POST", doc, provider, token)
    return _pull(provider, answer)


def get_pull(api: str, provider: str, project: str, token: str, number: int, deadline: float = 15.0) -> PullRequest:
    if provider == "gitlab":
        url = f"{api.rstrip('/')}/projects/{quote(project, safe='')}/merge_requests/{number}"
    else:
        url = f"{api.rstrip('/')}/repos/{project}/pulls/{number}"
    return _pull(provider, _call(url, deadline, "GET", None, provider, token))


def _call(url: str, deadline: float, method: str, doc: dict | None, provider: str, token: str) -> dict:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if provider == "gitlab":
        headers["PRIVATE-TOKEN"] = token
    else:
        headers.update({"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                        "X-GitHub-Api-Version": "2022-11-28"})
    try:
        answer = call(url, deadline, method, json.dumps(doc).encode() if doc is not None else None, headers)
    except Unanswered as err:
        raise PullRequestFailed(str(err)) from None
    try:
        body = json.loads(answer.body or b"{}")
    except ValueError:
        body = {}
    if answer.status not in (200, 201):
        said = body.get("message") if isinstance(body, dict) else None
        raise PullRequestFailed(f"the {provider} API answered {answer.status}: {str(said or '')[:200]}")
    return body


def _pull(provider: str, body: dict) -> PullRequest:
    if provider == "gitlab":
        state = {"opened": "open"}.get(body.get("state", ""), body.get("state", ""))
        return PullRequest(int(body["iid"]), str(body.get("web_url", "")), state)
    state = "merged" if body.get("merged") else body.get("state", "")
    return PullRequest(int(body["number"]), str(body.get("html_url", "")), state)
