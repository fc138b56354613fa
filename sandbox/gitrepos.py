"""Bare Git repositories on disk, read and written with git's own plumbing (no work tree): what
the sandbox's Git server serves, what its Argo CD reads, and how a test plays "someone else
pushed". Every write is a compare-and-swap of the branch ref (`git update-ref NEW OLD`), as a
real server's receive-pack does, so two writers never lose each other's commit."""
from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from pathlib import Path

TIMEOUT = 30.0
AUTHOR = {"GIT_AUTHOR_NAME": "A Person", "GIT_AUTHOR_EMAIL": "person@example.com",
          "GIT_COMMITTER_NAME": "A Person", "GIT_COMMITTER_EMAIL": "person@example.com"}


class GitRepos:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._read_cache: dict[tuple, dict[str, str]] = {}
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        return self.root / f"{name}.git"

    def git(self, name: str, *args: str, stdin: bytes | None = None, env: dict | None = None) -> str:
        done = subprocess.run(["git", "--git-dir", str(self.path(name)), *args], input=stdin, capture_output=True,
                              timeout=TIMEOUT, env=dict(os.environ, GIT_CONFIG_NOSYSTEM="1", **(env or {})))
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout.decode()

    def create(self, name: str, files: dict[str, str], branch: str = "main", message: str = "initial") -> str:
        """A bare repository whose `branch` holds `files` (path -> text) in one commit."""
        self.path(name).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(self.path(name))], check=True,
                       timeout=TIMEOUT, capture_output=True)
        self.git(name, "config", "http.receivepack", "true")
        return self.commit(name, branch, files, message)

    def head(self, name: str, branch: str) -> str | None:
        loose = self.path(name) / "refs" / "heads" / branch     # read each controller pass: no process
        if loose.is_file():
            return loose.read_text().strip() or None
        try:
            return self.git(name, "rev-parse", "--verify", "-q", f"refs/heads/{branch}").strip() or None
        except RuntimeError:
            return None

    def commit(self, name: str, branch: str, files: dict[str, str | None], message: str,
               author: dict[str, str] | None = None) -> str:
        """One commit on `branch` writing (or, for None, deleting) `files`; the ref moves only
        if nobody moved it meanwhile."""
        with self._lock, tempfile.TemporaryDirectory() as tmp:
            env = dict(AUTHOR, **(author or {}), GIT_INDEX_FILE=str(Path(tmp) / "index"))
            parent = self.head(name, branch)
            if parent:
                self.git(name, "read-tree", parent, env=env)
            for path, text in files.items():
                if text is None:
                    self.git(name, "update-index", "--force-remove", path, env=env)
                    continue
                blob = self.git(name, "hash-object", "-w", "--stdin", stdin=text.encode()).strip()
                self.git(name, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.git(name, "write-tree", env=env).strip()
            sha = self.git(name, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message,
                           env=env).strip()
            self.git(name, "update-ref", f"refs/heads/{branch}", sha, parent or "0" * 40)
            return sha

    def files(self, name: str, rev: str, under: str = "") -> dict[str, str]:
        """path -> text of every file under `under` at `rev` (cached: a commit never changes)."""
        key = (name, rev, under)
        if key not in self._read_cache:
            listed = self.git(name, "ls-tree", "-r", "--name-only", rev, "--", under or ".").split("\n")
            self._read_cache[key] = {p: self.git(name, "show", f"{rev}:{p}") for p in listed if p}
        return self._read_cache[key]

    def read(self, name: str, rev: str, path: str) -> str:
        return self.git(name, "show", f"{rev}:{path}")

    def log(self, name: str, rev: str, count: int = 20) -> list[dict]:
        out = self.git(name, "log", f"-{count}", "--format=%H%x1f%an <%ae>%x1f%P%x1f%B%x1e", rev)
        rows = []
        for entry in filter(None, (e.strip("\n") for e in out.split("\x1e"))):
            sha, author, parents, body = entry.split("\x1f", 3)
            rows.append({"sha": sha, "author": author, "parents": parents.split(), "message": body.strip()})
        return rows

    def diff(self, name: str, old: str, new: str) -> str:
        return self.git(name, "diff", "--no-color", "-U0", old, new)

    def merge(self, name: str, base_branch: str, head_branch: str, message: str) -> str | None:
        """Merge `head_branch` into `base_branch` on the server (a pull request's merge button):
        the merge commit's sha, or None on a conflict (nothing moves)."""
        with self._lock:
            base, head = self.head(name, base_branch), self.head(name, head_branch)
            assert base and head
            done = subprocess.run(["git", "--git-dir", str(self.path(name)), "merge-tree", "--write-tree", base, head],
                                  capture_output=True, timeout=TIMEOUT)
            if done.returncode != 0:
                return None
            tree = done.stdout.decode().split("\n")[0].strip()
            sha = self.git(name, "commit-tree", tree, "-p", base, "-p", head, "-m", message, env=AUTHOR).strip()
            self.git(name, "update-ref", f"refs/heads/{base_branch}", sha, base)
            return sha
