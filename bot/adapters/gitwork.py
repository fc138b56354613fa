"""A working copy of a Git repository, driven through the real `git` (HTTPS or SSH), every call
with a deadline. Credentials never reach a command line, a URL, a message or a log: over HTTPS git
asks a credential helper set through GIT_CONFIG_* variables, which reads the token from this
process's environment (the helper's text names the variable, not the value); over SSH a key file
is named in GIT_SSH_COMMAND. Nothing of the machine's own git configuration is read (HOME is the
working copy's scratch directory), so a developer's helpers cannot answer for graybot. Whatever
git prints is scrubbed of the token before it is raised."""
from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

DEADLINE = 30.0
_TOKEN_VAR = "GRAYBOT_GIT_TOKEN"


class GitFailed(Exception):
    """kind: rejected (the remote moved), conflict (a rebase stopped), unreachable (no answer in
    time, or no connection), denied (credentials refused), failed (anything else)."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Access:
    username: str = ""
    token: str = field(default="", repr=False)
    ssh_key_file: str = ""
    deadline: float = DEADLINE


class Checkout:
    def __init__(self, url: str, branch: str, access: Access, workdir: Path):
        self.url, self.branch, self.access = url, branch, access
        self.root, self.home = Path(workdir) / "repo", Path(workdir) / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self._identity: tuple[str, ...] = ()           # -c user.name/-c user.email of our commit

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.home), GIT_TERMINAL_PROMPT="0",
                   GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_COUNT="2", GIT_CONFIG_KEY_0="credential.helper",
                   GIT_CONFIG_VALUE_0="", GIT_CONFIG_KEY_1="credential.helper",
                   GIT_CONFIG_VALUE_1=(f'!f() {{ echo "username={self.access.username}"; '
                                       f'echo "password=${_TOKEN_VAR}"; }}; f'),
                   **{_TOKEN_VAR: self.access.token})
        if self.access.ssh_key_file:
            env["GIT_SSH_COMMAND"] = (f"ssh -i {shlex.quote(self.access.ssh_key_file)} -o IdentitiesOnly=yes "
                                      "-o BatchMode=yes -o StrictHostKeyChecking=accept-new "
                                      f"-o UserKnownHostsFile={shlex.quote(str(self.home / 'known_hosts'))}")
        return env

    def git(self, *args: str, cwd: Path | None = None) -> str:
        try:
            done = subprocess.run(["git", "-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=10", *args],
                                  cwd=cwd or self.root, env=self._env(), capture_output=True,
                                  timeout=self.access.deadline, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise GitFailed(f"git {args[0]} did not finish in {self.access.deadline:g}s", "unreachable") from None
        said = self._scrub(done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace"))
        if done.returncode != 0:
            raise GitFailed(f"git {args[0]}: {said.strip()[-600:]}", _kind(said))
        return self._scrub(done.stdout.decode(errors="replace"))

    def _scrub(self, text: str) -> str:
        return text.replace(self.access.token, "***") if self.access.token else text

    def clone(self, depth: int = 50) -> None:
        self.git("clone", "-q", "--no-tags", "--single-branch", "--depth", str(depth), "--branch", self.branch,
                 self.url, str(self.root), cwd=self.root.parent)

    def files(self, under: str) -> list[str]:
        """The repository's YAML files under `under` (a directory or one file)."""
        listed = self.git("ls-files", "-z", "--", under or ".").split("\0")
        return sorted(p for p in listed if p.endswith((".yaml", ".yml")))

    def read(self, path: str) -> str:
        return (self.root / path).read_text()

    def write(self, path: str, text: str) -> None:
        (self.root / path).write_text(text)

    def commit(self, message: str, author: str) -> str:
        name, _, email = author.partition(" <")
        self._identity = ("-c", f"user.name={name}", "-c", f"user.email={email.rstrip('>')}")
        self.git(*self._identity, "commit", "-q", "-a", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def find(self, marker: str, ref: str = "HEAD") -> str | None:
        """The newest commit of `ref` whose message holds `marker` (a release already written)."""
        return self.git("log", "-1", "--format=%H", "--fixed-strings", f"--grep={marker}", ref).strip() or None

    def push(self, target: str, force: bool = False) -> None:
        self.git("push", "-q", "--porcelain", "origin", f"{'+' if force else ''}HEAD:refs/heads/{target}")

    def rebase(self) -> None:
        """Put our commit on top of what the remote branch has now; on a conflict, undo the rebase
        and say which commits and files collided."""
        self.git("fetch", "-q", "origin", self.branch)
        try:
            self.git(*self._identity, "rebase", "-q", "FETCH_HEAD")      # the rebased commit stays graybot's
        except GitFailed as failed:
            files = self.git("diff", "--name-only", "--diff-filter=U").split()
            theirs = self.git("log", "--format=%h %an: %s", "ORIG_HEAD..FETCH_HEAD")
            self.git("rebase", "--abort")
            raise GitFailed(f"{', '.join(files) or 'the same lines'} changed meanwhile by "
                            f"{'; '.join(theirs.strip().splitlines()[:3]) or 'another commit'}",
                            "conflict" if files else failed.kind) from None


def _kind(said: str) -> str:
    text = said.lower()
    if "[rejected]" in text or "fetch first" in text or "non-fast-forward" in text or "failed to lock" in text:
        return "rejected"
    if "conflict" in text:
        return "conflict"
    if "authentication failed" in text or "permission denied" in text or " 403" in text or " 401" in text:
        return "denied"
    if "could not resolve" in text or "connection refused" in text or "timed out" in text or "couldn't connect" in text:
        return "unreachable"
    return "failed"
