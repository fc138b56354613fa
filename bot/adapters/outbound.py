"""Outbound HTTP for gates (webhooks, metric providers): one deadline for the whole call, not
per read (a server answering a byte at a time cannot hold a gate past it), no redirects followed
(a 302 is an answer, not a pass), credentials in a URL sent as basic auth and never shown, and a
bounded body. Standard library only: http.client."""
from __future__ import annotations

import base64
import http.client
import socket
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

MAX_BODY = 1 << 20


class Unanswered(Exception):
    """No whole answer: the deadline passed (`timed_out`) or the server could not be reached."""

    def __init__(self, message: str, timed_out: bool):
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    location: str = ""            # a redirect's target, shown, never followed


def shown(url: str) -> str:
    """What may be said of a URL in a message or log: scheme, host and path; no credentials,
    query or fragment (tokens live there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def call(url: str, deadline: float, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Answer:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unanswered(f"{shown(url)} is not an http(s) URL", timed_out=False)
    headers = dict(headers or {}, **{"User-Agent": "graybot", "Connection": "close"})
    if parts.username is not None:
        secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(secret).decode()
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname, parts.port, timeout=deadline)
    expired, opened = threading.Event(), []
    watchdog = threading.Timer(deadline, _cut, args=(opened, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.connect()
        opened.append(conn.sock)         # kept: http.client lets go of it once the answer is read
        if expired.is_set():
            _cut(opened, expired)
        conn.request(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                     headers=headers)
        resp = conn.getresponse()
        data = resp.read(MAX_BODY)
        if expired.is_set():             # what came before the cut is not the whole answer
            raise TimeoutError()
        return Answer(resp.status, data, resp.getheader("Location", "") or "")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise Unanswered(f"{shown(url)} did not answer within {deadline:g}s", timed_out=True) from None
        raise Unanswered(f"{shown(url)} could not be reached: {type(exc).__name__}", timed_out=False) from None
    finally:
        watchdog.cancel()
        watchdog.join()
        conn.close()


def _cut(opened: list, expired: threading.Event) -> None:
    """The deadline passed: end the call now, whatever read it is blocked in."""
    expired.set()
    for sock in opened:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
