"""Keeps each release's one live Slack message and its thread in step with the saved state.

The engine calls `on_change` after every saved change; the work happens on a worker thread so a
slow or rate-limited Slack never blocks a release. Updates render the latest saved state
(coalescing bursts: chat.update is Tier 3), always by `chat.update` on the stored channel+ts.
A call that still fails after slack_sdk's retry handlers is retried later with backoff.
"""
from __future__ import annotations

import collections
import heapq
import json
import logging
import queue
import threading
import time
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.names import GATE_CHART, OBSERVED
from bot.adapters import telemetry
from bot.adapters.edgestate import EdgeState
from bot.adapters.store import Store
from bot.domain.model import Release

from . import blocks
from .mrkdwn import plain

log = logging.getLogger("graybot.messages")


class NotPostedYet(Exception):
    """A thread reply arrived before its live message could be posted."""


class MessageSync:
    """Jobs per release, in order; releases in parallel on a few workers: a release whose
    message is slow to render (its cluster hangs) or whose Slack call is being retried never
    delays another release's message."""

    def __init__(self, client: WebClient, store: Store, state: EdgeState, observe: Callable[[Release], dict],
                 retry_delay: float = 2.0, button_key: bytes = b"", workers: int = 16,
                 fill_chart: Callable[[dict], dict] = lambda chart: chart):
        self.client, self.store, self.state, self.observe = client, store, state, observe
        self.button_key = button_key
        self.fill_chart = fill_chart          # a gate chart's series, fetched here, off the release's path
        self.retry_delay = retry_delay
        self.ready: queue.Queue = queue.Queue()          # release ids with jobs and no worker
        self._pending: dict[str, collections.deque] = {}
        self._claimed: set[str] = set()
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._retries: list[tuple[float, tuple]] = []    # (due, job), a heap: Slack calls to try again
        self._retry_wake = threading.Event()
        self._threads = [threading.Thread(target=self._run, name=f"slack-messages-{i}", daemon=True)
                         for i in range(workers)]
        self._threads.append(threading.Thread(target=self._retry_loop, name="slack-messages-retry", daemon=True))

    def start(self) -> "MessageSync":
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._retry_wake.set()
        for _ in self._threads:
            self.ready.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    # -- called by the engine after a saved change --------------------------------------
    def on_change(self, release: Release, what: str, detail: str) -> None:
        if release.platform != "slack" or not release.conversation:
            return      # started from the CLI: there is no Slack message to keep
        self.refresh(release.id)
        if what == OBSERVED:
            return      # the controller moved: the message shows it; no thread reply
        if what == GATE_CHART:
            self._put(("chart", release.id, detail, 0))     # a picture in the thread, in turn
            return
        self._put(("thread", release.id, blocks.event_text(release, what, detail), 0))

    def refresh(self, release_id: str) -> None:
        with self._lock:
            if release_id in self._dirty:
                return        # an update is queued already; it renders the latest saved state
            self._dirty.add(release_id)
        self._put(("update", release_id, "", 0))

    def resync(self) -> None:
        """After a restart: bring every active release's message up to date."""
        for release in self.store.active():
            if release.platform == "slack" and release.conversation:
                self.refresh(release.id)

    def _put(self, job: tuple) -> None:
        release_id = job[1]
        with self._lock:
            jobs = self._pending.setdefault(release_id, collections.deque())
            jobs.append(job)
            if len(jobs) > 1 or release_id in self._claimed:
                return        # already queued, or a worker is on this release and will see it
        self.ready.put(release_id)

    # -- the workers ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            release_id = self.ready.get()
            if release_id is None:
                return
            with self._lock:
                self._claimed.add(release_id)
            try:
                while (job := self._next(release_id)) is not None:
                    self._do(job)
            finally:
                with self._lock:
                    self._claimed.discard(release_id)
                    again = bool(self._pending.get(release_id))
                if again:
                    self.ready.put(release_id)

    def _retry_loop(self) -> None:
        """One thread for every retry: each job goes back to its release's queue when due."""
        while not self._stop.is_set():
            due = []
            with self._lock:
                while self._retries and self._retries[0][0] <= time.monotonic():
                    due.append(heapq.heappop(self._retries)[1])
                wait = self._retries[0][0] - time.monotonic() if self._retries else 60.0
            for job in due:
                self._put(job)
            self._retry_wake.wait(max(0.01, wait))
            self._retry_wake.clear()

    def _next(self, release_id: str) -> tuple | None:
        with self._lock:
            jobs = self._pending.get(release_id)
            if not jobs:
                self._pending.pop(release_id, None)
                return None
            job = jobs.popleft()
            if job[0] == "update":
                self._dirty.discard(release_id)
            return job

    def _do(self, job: tuple) -> None:
        kind, release_id, text, attempt = job
        try:
            if kind == "update":
                self._update(release_id)
            elif kind == "chart":
                self._chart(release_id, text)
            else:
                self._reply(release_id, text)
        except (SlackApiError, OSError, NotPostedYet) as err:
            telemetry.CHAT_ERRORS.labels(call=f"message_{kind}").inc()
            delay = min(60.0, self.retry_delay * 2 ** attempt)
            log.warning("slack %s for %s failed (%s); retrying in %.0fs", kind, release_id, err, delay)
            with self._lock:
                heapq.heappush(self._retries, (time.monotonic() + delay, (kind, release_id, text, attempt + 1)))
            self._retry_wake.set()
        except Exception:
            log.exception("slack %s for %s failed", kind, release_id)

    def _update(self, release_id: str) -> None:
        release = self.store.get(release_id)
        if release is None or release.platform != "slack" or not release.conversation:
            return
        rendered = blocks.to_dicts(blocks.release_blocks(release, self.observe(release), self.button_key))
        text = blocks.fallback_text(release)
        where = self.state.message(release_id)
        if where is None:
            resp = self.client.chat_postMessage(channel=release.channel, text=text, blocks=rendered)
            self.state.set_message(release_id, resp["channel"], resp["ts"])
        else:
            self.client.chat_update(channel=where[0], ts=where[1], text=text, blocks=rendered)

    def _chart(self, release_id: str, data: str) -> None:
        """A metric gate's evidence as a PNG in the thread: Slack's two-step upload
        (files.getUploadURLExternal, the bytes, files.completeUploadExternal), as files_upload_v2 does."""
        where = self.state.message(release_id)
        if where is None:
            self.refresh(release_id)
            raise NotPostedYet(release_id)
        from bot.adapters import charts      # matplotlib: loaded by the first chart, not by every process

        chart = self.fill_chart(json.loads(data))
        png = charts.gate_png(chart)
        self.client.files_upload_v2(channel=where[0], thread_ts=where[1], content=png,
                                    filename=f"{release_id}-{chart.get('metric', 'gate')}.png",
                                    title=f"{chart.get('metric')}: {chart.get('verdict')}",
                                    initial_comment=f"{chart.get('metric')}: {chart.get('verdict')} "
                                                    f"({plain(chart.get('evidence', ''))[:500]})")

    def _reply(self, release_id: str, text: str) -> None:
        where = self.state.message(release_id)
        if where is None:   # the live message is not posted yet: the reply waits for it
            self.refresh(release_id)
            raise NotPostedYet(release_id)
        self.client.chat_postMessage(channel=where[0], thread_ts=where[1], text=text)
