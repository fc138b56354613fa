"""The sandbox's HTTP front: Kubernetes API, discovery, and the extra routes other modules add."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

from . import resources, tables
from .api import KubeApi, Request, decode_body, parse_route
from .errors import ApiError, not_found, unsupported_media

log = logging.getLogger("graybot.sandbox")
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 410: "Gone", 415: "Unsupported Media Type",
           422: "Unprocessable Entity", 500: "Internal Server Error"}
VERSION = {"major": "1", "minor": "37", "gitVersion": "v1.37.0-graybot-sandbox",
           "gitCommit": "sandbox", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
           "goVersion": "go1.25", "compiler": "gc", "platform": "linux/amd64"}

# extra routes: (method, path) -> fn(query, body) -> (code, json-able body)
ExtraRoute = Callable[[dict[str, str], object], tuple[int, object]]


def discovery(path: str) -> dict | None:
    parts = [p for p in path.split("/") if p]
    if parts == ["version"]:
        return VERSION
    if parts == ["api"]:
        return resources.api_versions()
    if parts == ["apis"]:
        return resources.api_group_list()
    if parts == ["api", "v1"]:
        return resources.resource_list("", "v1")
    if len(parts) == 2 and parts[0] == "apis":
        return resources.api_group(parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return resources.resource_list(parts[1], parts[2])
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "SandboxHTTPServer"

    def log_message(self, fmt, *args):  # keep test output quiet; debug logs on demand
        log.debug("%s " + fmt, self.address_string(), *args)

    def _send_json(self, code: int, body: object, extra: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code, REASONS.get(code))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, events: Iterator[dict]) -> None:
        self.send_response(200, "OK")
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event in events:
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _dispatch(self) -> None:
        self.server.stall(self.command, self.path)     # a fault a test asked for: hang first
        url = urlsplit(self.path)
        if self.server.credentials_revoked and url.path != "/version" and not url.path.startswith("/sandbox/"):
            self.server.count(self.command, url.path)   # a revoked token: 401 as the apiserver's authn says it
            return self._send_json(401, ApiError(401, "Unauthorized", "Unauthorized").status())
        self.server.count(self.command, url.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            extra = self.server.extra_routes.get((self.command, url.path))
            if extra is not None:
                code, body = (extra(query, raw, self.headers) if getattr(extra, "wants_headers", False)
                              else extra(query, raw))
                return self._send_json(code, body)
            if self.command == "GET" and (doc := discovery(url.path)) is not None:
                return self._send_json(200, doc)
            route = parse_route(url.path)
            if route is None:
                raise not_found("", "", url.path)
            if self.command == "GET" and route.name is None and query.get("watch") in ("true", "1"):
                return self._send_stream(self.server.api.watch(route, query))
            content_type = self.headers.get("Content-Type") or "application/json"
            if "protobuf" in content_type:  # typed kubectl commands (create svc) may send it
                raise unsupported_media("the sandbox accepts JSON bodies only, not " + content_type)
            req = Request(self.command, url.path, query, content_type, decode_body(raw),
                          agent=self.headers.get("User-Agent") or "")
            code, body = self.server.api.handle(req, route)
            if "as=Table" in (self.headers.get("Accept") or "") and self.command == "GET":
                items = body.get("items") if body.get("kind", "").endswith("List") else [body]
                rv = body.get("metadata", {}).get("resourceVersion", "")
                body = tables.table(route.res.plural, items, rv)
            self._send_json(code, body)
        except ApiError as err:
            self._send_json(err.code, err.status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True     # the client gave up (its timeout): nobody to answer
        except Exception as exc:  # a bug in the sandbox must still answer like an apiserver
            log.exception("sandbox error on %s %s", self.command, self.path)
            self._send_json(500, ApiError(500, "InternalError", str(exc)).status())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class Stall:
    """An API server that stops answering some requests (a hung etcd, a wedged webhook): every
    request whose path contains `fragment` hangs until released or `seconds` pass."""

    def __init__(self, fragment: str, seconds: float = 120.0, methods: tuple[str, ...] = ()):
        self.fragment, self.seconds, self.methods = fragment, seconds, methods
        self.released, self.hit = threading.Event(), threading.Event()

    def matches(self, method: str, path: str) -> bool:
        return self.fragment in urlsplit(path).path and (not self.methods or method in self.methods)

    def release(self) -> None:
        self.released.set()


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: KubeApi):
        super().__init__(address, Handler)
        self.api = api
        self.extra_routes: dict[tuple[str, str], ExtraRoute] = {}
        self.credentials_revoked = False      # a test revokes graybot's token: 401 but for /version
        self.stalls: list[Stall] = []
        self.requests = 0                    # every request served, for the scale benchmark
        self.writes: list[str] = []          # "METHOD path" of every Kubernetes API write (was it touched?)
        self.paths: dict[str, int] = {}      # requests per path (which Prometheus did a gate ask?)
        self.kinds: dict[str, int] = {}      # API requests per "METHOD plural[/name][/sub]", for benchmarks
        self._count_lock = threading.Lock()
        self.extra_routes[("GET", "/sandbox/stats")] = lambda query, body: (
            200, {"requests": self.requests, "writes": len(self.writes), "kinds": dict(self.kinds)})

    def count(self, method: str = "GET", path: str = "") -> None:
        with self._count_lock:
            self.requests += 1
            self.paths[path] = self.paths.get(path, 0) + 1
            route = parse_route(path)
            if route is not None:
                kind = f"{method} {route.res.plural}" + ("/NAME" if route.name else "") + (f"/{route.sub}" if route.sub else "")
                self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if method != "GET" and route is not None:
                self.writes.append(f"{method} {path}")

    def stall(self, method: str, path: str) -> None:
        for stall in list(self.stalls):
            if stall.matches(method, path):
                stall.hit.set()
                stall.released.wait(stall.seconds)

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sandbox-http", daemon=True)
        thread.start()
        return thread
