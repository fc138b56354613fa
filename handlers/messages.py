"""Keeps each release's one live Slack message and its thread in step with the saved state.

The engine calls `on_change` after every saved change; the work happens on a worker thread so a
slow or rate-limited Slack never blocks a release. Updates render the latest saved state
(coalescing bursts: chat.update is Tier 3), always by `chat.update` on the stored channel+ts.
A call that still fails after slack_sdk's retry handlers is retried later with backoff.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.edgestate import EdgeState
from bot.adapters.store import Store
from bot.domain.model import Release

from . import blocks

log = logging.getLogger("graybot.messages")


class NotPostedYet(Exception):
    """A thread reply arrived before its live message could be posted."""


class MessageSync:
    def __init__(self, client: WebClient, store: Store, state: EdgeState, observe: Callable[[Release], dict],
                 retry_delay: float = 2.0, button_key: bytes = b""):
        self.client, self.store, self.state, self.observe = client, store, state, observe
        self.button_key = button_key
        self.retry_delay = retry_delay
        self.jobs: queue.Queue = queue.Queue()
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slack-messages", daemon=True)

    def start(self) -> "MessageSync":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.jobs.put(None)

    # -- called by the engine after a saved change --------------------------------------
    def on_change(self, release: Release, what: str, detail: str) -> None:
        if not release.channel:
            return      # started from the CLI: there is no Slack message to keep
        self.refresh(release.id)
        self.jobs.put(("thread", release.id, blocks.event_text(release, what, detail), 0))

    def refresh(self, release_id: str) -> None:
        with self._lock:
            if release_id in self._dirty:
                return
            self._dirty.add(release_id)
        self.jobs.put(("update", release_id, "", 0))

    def resync(self) -> None:
        """After a restart: bring every active release's message up to date."""
        for release in self.store.active():
            if release.channel:
                self.refresh(release.id)

    # -- the worker ---------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            job = self.jobs.get()
            if job is None:
                return
            kind, release_id, text, attempt = job
            try:
                if kind == "update":
                    with self._lock:
                        self._dirty.discard(release_id)
                    self._update(release_id)
                else:
                    self._reply(release_id, text)
            except (SlackApiError, OSError, NotPostedYet) as err:
                delay = min(60.0, self.retry_delay * 2 ** attempt)
                log.warning("slack %s for %s failed (%s); retrying in %.0fs", kind, release_id, err, delay)
                threading.Timer(delay, self.jobs.put, args=((kind, release_id, text, attempt + 1),)).start()
            except Exception:
                log.exception("slack %s for %s failed", kind, release_id)

    def _update(self, release_id: str) -> None:
        release = self.store.get(release_id)
        if release is None or not release.channel:
            return
        rendered = blocks.to_dicts(blocks.release_blocks(release, self.observe(release), self.button_key))
        text = blocks.fallback_text(release)
        where = self.state.message(release_id)
        if where is None:
            resp = self.client.chat_postMessage(channel=release.channel, text=text, blocks=rendered)
            self.state.set_message(release_id, resp["channel"], resp["ts"])
        else:
            self.client.chat_update(channel=where[0], ts=where[1], text=text, blocks=rendered)

    def _reply(self, release_id: str, text: str) -> None:
        where = self.state.message(release_id)
        if where is None:   # the live message is not posted yet: the reply waits for it
            self.refresh(release_id)
            raise NotPostedYet(release_id)
        self.client.chat_postMessage(channel=where[0], thread_ts=where[1], text=text)
