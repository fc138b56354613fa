"""Closing the GitOps loop: when a release (wave) succeeds, graybot writes it to the repository
its controller reads (apps.yaml `gitops: {writeback: {...}}`): it clones the branch, edits the
stable Deployment's manifest into the release's (name, version labels, image, replicas) and the
Service's selector in place (comments and formatting kept), and commits as graybot with the
release, its approvers and its thread in the message; then pushes (`commit`) or pushes a branch
and opens a pull request (`pull-request`). A push the remote rejects (someone pushed first) is
rebased and pushed again; a rebase that conflicts stops and is said in the thread: the hand-back
waits for a person (handback.py keeps reconciliation suspended until Git holds the release).

What happened is saved in Redis before it is announced, once per RELEASE#WAVE; a graybot killed
after its push finds its commit by the `Graybot-Release:` trailer and does not commit twice. An
unreachable server is tried again (RETRY_EVERY) by the leader; refused credentials and manifests
that cannot take the change are said once and left to a person."""
from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from bot.adapters import manifests
from bot.adapters.gitwork import Access, Checkout, GitFailed
from bot.adapters.kube import KubeError
from bot.adapters.pullrequests import PullRequestFailed, open_pull
from bot.adapters.writebacks import WriteBacks
from bot.domain.model import Event, Release
from bot.domain.names import GRAYBOT
from bot.domain.writeback import NotEditable, WritebackSpec, deployment_edits, is_document, service_edits

log = logging.getLogger("graybot.writeback")
RETRY_EVERY = 30.0
PUSHES = 3                      # attempts, each after a rebase onto what the remote has
SETTLED = ("committed", "unchanged", "pull-request", "conflict", "refused")


class WriteBack:
    def __init__(self, engine, records: WriteBacks | None = None):
        self.engine = engine
        self.records = records or WriteBacks(engine.store.r, engine.store.replicas)

    def spec(self, view: Release) -> WritebackSpec | None:
        app = self.engine.registry.get(view.app)
        return app.at(view.cluster).writeback if app is not None else None

    def record(self, view: Release, index: int) -> dict | None:
        return self.records.get(f"{view.id}#{index}")

    def run(self, view: Release, index: int) -> dict | None:
        """Write the wave to Git unless already done (or tried too recently): its record, or
        None when the app has no write-back."""
        spec = self.spec(view)
        if spec is None:
            return None
        member = f"{view.id}#{index}"
        record = self.records.get(member)
        if record and (record["state"] in SETTLED or time.time() - record.get("at", 0) < RETRY_EVERY):
            return record
        before, record = record, dict(self._write(view, index, spec), at=round(time.time(), 3))
        self.records.put(member, record)
        if before is None or before["said"] != record["said"]:      # a retry failing alike is said once
            self.engine.store.record(view.id, GRAYBOT, "gitops_written", record["said"])
            self.engine.announce(view, "gitops_written", record["said"])
        return record

    def _write(self, view: Release, index: int, spec: WritebackSpec) -> dict:
        where = f"{spec.repo} ({spec.branch})"
        try:
            change = self.engine.gitops.handback(view, self.engine.registry[view.app].at(view.cluster).service)
        except KubeError as err:
            return {"state": "retry", "said": f"Git not written yet: the cluster did not answer ({err.reason})"}
        token = os.environ.get(spec.token_secret, "") if spec.token_secret else ""
        with tempfile.TemporaryDirectory(prefix="graybot-git-") as tmp:
            repo = Checkout(spec.repo, spec.branch, Access(spec.username, token, spec.ssh_key_file), Path(tmp))
            try:
                repo.clone()
                marker = f"Graybot-Release: {view.id}#{index}"
                if (done := repo.find(marker)) is not None:      # pushed before a restart
                    return {"state": "committed", "commit": done, "said": f"Git holds the release: commit "
                            f"{done[:10]} on {where}"}
                files = self._edit(repo, spec, view, change)
                if not files:
                    return {"state": "unchanged", "said": f"Git already holds the release ({where})"}
                repo.commit(self._message(view, index, change, marker), spec.author)
                if spec.mode == "pull-request":
                    return self._pull_request(repo, spec, view, files, token)
                sha = self._push(repo)
                return {"state": "committed", "commit": sha, "files": files,
                        "said": f"committed {sha[:10]} to {where}: {', '.join(files)}"}
            except GitFailed as failed:
                return self._failed(failed, where)
            except (NotEditable, manifests.ManifestError) as err:
                return {"state": "refused", "said": f"graybot cannot write the release to {where}: {err}"}
            except PullRequestFailed as err:
                return {"state": "retry", "said": f"the pull request for {where} was not opened: {err}"}

    @staticmethod
    def _failed(failed: GitFailed, where: str) -> dict:
        if failed.kind == "conflict":
            return {"state": "conflict", "said": f"graybot's commit to {where} conflicts: {failed}. The hand-back "
                    "waits: commit what `/release gitops-diff` shows by hand"}
        if failed.kind == "denied":
            return {"state": "refused", "said": f"{where} refused graybot's credentials: {failed}"}
        return {"state": "retry", "said": f"Git not written yet ({failed.kind}): {failed}; graybot tries again"}

    def _edit(self, repo: Checkout, spec: WritebackSpec, view: Release, change: dict) -> list[str]:
        """Edit every manifest that holds the stable Deployment or the Service; the files changed."""
        deploy, service = change["deployment"], change["service"]
        stable = change.get("retired") or deploy["name"]
        changed, seen = [], set()
        for path in repo.files(spec.path):
            text = original = repo.read(path)
            for i, doc in enumerate(manifests.documents(text)):
                if is_document(doc, "Deployment", stable, view.namespace):
                    seen.add("Deployment")
                    text = manifests.edit(text, i, deployment_edits(doc, deploy))
                elif is_document(doc, "Service", service["name"], view.namespace):
                    seen.add("Service")
                    text = manifests.edit(text, i, service_edits(doc, service["selector"], path))
            if text != original:
                repo.write(path, text)
                changed.append(path)
        if "Deployment" not in seen:
            raise NotEditable(f"no manifest of Deployment {stable} under {spec.path or '/'}")
        return changed

    def _push(self, repo: Checkout) -> str:
        for attempt in range(PUSHES):
            try:
                repo.push(repo.branch)
                return repo.head()
            except GitFailed as failed:
                if failed.kind != "rejected" or attempt == PUSHES - 1:
                    raise
                repo.rebase()                 # someone pushed first: our commit on top of theirs
        raise AssertionError("unreachable")

    def _pull_request(self, repo: Checkout, spec: WritebackSpec, view: Release, files: list[str], token: str) -> dict:
        branch = f"graybot/{view.id}"
        repo.push(branch, force=True)           # graybot's own branch: a retry replaces it
        title = f"graybot: {view.app} {view.from_version} -> {view.to_version} ({view.id})"
        pull = open_pull(spec.api, spec.provider, spec.project, token, branch, spec.branch, title,
                         f"Release {view.id} of {view.app} succeeded; this makes Git hold it.\n\nFiles: "
                         f"{', '.join(files)}")
        return {"state": "pull-request", "pull": pull.number, "url": pull.url, "commit": repo.head(), "files": files,
                "said": f"opened pull request #{pull.number} for {spec.repo} ({spec.branch}): {pull.url}"}

    def _message(self, view: Release, index: int, change: dict, marker: str) -> str:
        deploy, service = change["deployment"], change["service"]
        approvers = sorted({e["actor"] for e in self.engine.store.audit(view.id)
                            if e.get("action") in (Event.APPROVE.value, Event.APPROVE_FULL.value)})
        images = ", ".join(f"{c['name']}={c['image']}" for c in deploy["containers"])
        selector = ", ".join(f"{k}={v}" for k, v in sorted(service["selector"].items()))
        lines = [f"graybot: {view.app} {view.from_version} -> {view.to_version} ({view.id})", "",
                 f"Release {view.id} of {view.app} succeeded ({view.strategy}"
                 f"{', cluster ' + view.cluster if view.cluster else ''}).",
                 f"Deployment {deploy['name']}: {images}; {deploy['replicas']} replicas.",
                 f"Service {service['name']}: selector {selector}.", "",
                 f"Requested-by: {view.requested_by}",
                 f"Approved-by: {', '.join(approvers) or 'nobody (no approval was needed)'}"]
        link = self.engine.thread_link(view)
        if link:
            lines.append(f"Thread: {link}")
        return "\n".join(lines + [marker])
