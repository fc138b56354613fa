"""A Git host on loopback: bare repositories (gitrepos.py) served over git's smart HTTP protocol
by `git http-backend` (the CGI program git ships, as behind Apache or nginx), behind HTTP basic
auth, and the pull-request REST API of GitHub (`/api/v3/repos/OWNER/REPO/pulls`: create, get,
merge; docs.github.com "REST API endpoints for pull requests") and GitLab
(`/api/v4/projects/ID/merge_requests`: create, get, merge; docs.gitlab.com "Merge requests API").
A repository `OWNER/REPO` is at `URL/OWNER/REPO.git`. `race(...)` plays someone who pushes
first: the next push's ref advertisement finds their commit already there, so the pusher is
told to fetch first, as a real server would."""
from __future__ import annotations

import base64
import hmac
import json
import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .gitrepos import TIMEOUT, GitRepos

USER, TOKEN = "graybot", "sandbox-git-token"
_GITHUB = re.compile(r"^/api/v3/repos/([^/]+/[^/]+)/pulls(?:/(\d+)(/merge)?)?$")
_GITLAB = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests(?:/(\d+)(/merge)?)?$")


class GitServer:
    def __init__(self, root: Path, token: str = TOKEN):
        self.repos, self.token = GitRepos(root), token
        self.pulls: dict[str, list[dict]] = {}         # OWNER/REPO -> its pull requests, numbered from 1
        self.races: dict[str, tuple[str, dict, str]] = {}   # OWNER/REPO -> (branch, files, message)
        self.pushes: list[str] = []                   # a repository per push begun (accepted or not)
        self.refused: list[str] = []                  # requests without the right credentials
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.http.daemon_threads = True
        self.http.git = self                          # type: ignore[attr-defined]
        threading.Thread(target=self.http.serve_forever, name="sandbox-git", daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host}:{port}"

    def repo_url(self, name: str) -> str:
        return f"{self.url}/{name}.git"

    def name_of(self, url: str) -> str | None:
        """OWNER/REPO for a URL of this server (what an Application's repoURL names)."""
        if not url.startswith(self.url + "/"):
            return None
        name = url[len(self.url) + 1:].removesuffix("/").removesuffix(".git")
        return name if self.repos.path(name).exists() else None

    def race(self, name: str, branch: str, files: dict[str, str | None], message: str) -> None:
        self.races[name] = (branch, files, message)

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()

    # -- the pull-request API ----------------------------------------------------------
    def open_pull(self, name: str, head: str, base: str, title: str, body: str) -> tuple[int, dict]:
        if self.repos.head(name, head) is None or self.repos.head(name, base) is None:
            return 422, {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "invalid",
                                                                      "field": "head" if base else "base"}]}
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls.get(name, [])):
            return 422, {"message": f"A pull request already exists for {head}."}
        number = len(self.pulls.setdefault(name, [])) + 1
        pull = {"number": number, "state": "open", "merged": False, "title": title, "body": body,
                "html_url": f"{self.url}/{name}/pull/{number}", "merge_commit_sha": None,
                "head": {"ref": head, "sha": self.repos.head(name, head)},
                "base": {"ref": base, "sha": self.repos.head(name, base)}}
        self.pulls[name].append(pull)
        return 201, pull

    def pull(self, name: str, number: int) -> dict | None:
        pulls = self.pulls.get(name, [])
        return pulls[number - 1] if 0 < number <= len(pulls) else None

    def merge_pull(self, name: str, number: int) -> tuple[int, dict]:
        pull = self.pull(name, number)
        if pull is None:
            return 404, {"message": "Not Found"}
        if pull["state"] != "open":
            return 405, {"message": "Pull Request is not mergeable"}
        sha = self.repos.merge(name, pull["base"]["ref"], pull["head"]["ref"],
                               f"Merge pull request #{number} from {pull['head']['ref']}\n\n{pull['title']}")
        if sha is None:
            return 405, {"message": "Pull Request is not mergeable"}
        pull.update(state="closed", merged=True, merge_commit_sha=sha)
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):   # quiet; the server keeps its own record
        pass

    @property
    def git(self) -> GitServer:
        return self.server.git            # type: ignore[attr-defined]

    def _body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while (size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, body: object) -> None:
        self._send(code, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _authorized(self) -> bool:
        given = self.headers.get("Authorization") or ""
        token = self.headers.get("PRIVATE-TOKEN") or ""
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "basic":
            token = base64.b64decode(value.encode()).decode(errors="replace").partition(":")[2]
        elif scheme.lower() in ("bearer", "token"):
            token = value
        return hmac.compare_digest(token.encode(), self.git.token.encode())

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        if not self._authorized():
            self.git.refused.append(f"{self.command} {url.path}")
            return self._send(401, b"Unauthorized\n", {"WWW-Authenticate": 'Basic realm="sandbox-git"',
                                                        "Content-Type": "text/plain"})
        if url.path.startswith("/api/"):
            return self._api(url.path, body)
        name = url.path.lstrip("/").split(".git/", 1)[0]
        if not self.git.repos.path(name).exists():
            return self._send(404, b"Repository not found\n", {"Content-Type": "text/plain"})
        if url.query == "service=git-receive-pack":                   # a push begins with this
            self.git.pushes.append(name)
            if name in self.git.races:
                branch, files, message = self.git.races.pop(name)
                self.git.repos.commit(name, branch, files, message)  # they pushed first
        self._cgi(url.path, url.query, body)

    def _cgi(self, path: str, query: str, body: bytes) -> None:
        env = dict(os.environ, GIT_PROJECT_ROOT=str(self.git.repos.root), GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO=unquote(path), QUERY_STRING=query, REQUEST_METHOD=self.command,
                   CONTENT_TYPE=self.headers.get("Content-Type") or "", CONTENT_LENGTH=str(len(body)),
                   REMOTE_USER=USER, REMOTE_ADDR="127.0.0.1", GIT_CONFIG_NOSYSTEM="1")
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        done = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env, timeout=TIMEOUT)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        code, headers = 200, {}
        for line in head.decode(errors="replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                code = int(value.strip().split()[0])
            elif key:
                headers[key] = value.strip()
        self._send(code, payload, headers)

    def _api(self, path: str, body: bytes) -> None:
        doc = json.loads(body or b"{}")
        if (m := _GITHUB.match(path)) is not None:
            name, number, merge = m.group(1), m.group(2), m.group(3)
            if self.command == "POST" and number is None:
                return self._json(*self.git.open_pull(name, doc.get("head", ""), doc.get("base", ""),
                                                      doc.get("title", ""), doc.get("body", "")))
            if self.command == "PUT" and merge:
                return self._json(*self.git.merge_pull(name, int(number)))
            if self.command == "GET" and number and not merge:
                pull = self.git.pull(name, int(number))
                return self._json(200, pull) if pull else self._json(404, {"message": "Not Found"})
        if (m := _GITLAB.match(path)) is not None:
            name, number, merge = unquote(m.group(1)), m.group(2), m.group(3)
            if self.command == "POST" and number is None:
                code, pull = self.git.open_pull(name, doc.get("source_branch", ""), doc.get("target_branch", ""),
                                                 doc.get("title", ""), doc.get("description", ""))
                return self._json(code, _merge_request(pull) if code == 201 else pull)
            if self.command == "PUT" and merge:
                code, said = self.git.merge_pull(name, int(number))
                pull = self.git.pull(name, int(number))
                return self._json(code, _merge_request(pull) if code == 200 and pull else said)
            if self.command == "GET" and number and not merge:
                pull = self.git.pull(name, int(number))
                return self._json(200, _merge_request(pull)) if pull else self._json(404, {"message": "404 Not found"})
        self._json(404, {"message": "Not Found"})

    do_GET = do_POST = do_PUT = _dispatch


def _merge_request(pull: dict) -> dict:
    """The same pull request as GitLab's API shows a merge request."""
    return {"iid": pull["number"], "title": pull["title"], "description": pull["body"],
            "state": "merged" if pull["merged"] else ("opened" if pull["state"] == "open" else "closed"),
            "web_url": pull["html_url"].replace("/pull/", "/-/merge_requests/"),
            "source_branch": pull["head"]["ref"], "target_branch": pull["base"]["ref"],
            "sha": pull["head"]["sha"], "merge_commit_sha": pull["merge_commit_sha"]}
