"""A webhook receiver as a team's audit store or SIEM runs one: it records every POST (headers
and body, in arrival order) and can be told to fail the next N requests, the way a receiver that
is down or overloaded answers (503), so senders' retries can be watched."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.received: list[tuple[dict, bytes]] = []     # accepted: (headers, body)
        self.refused = 0                                  # requests answered with an error
        self._failing = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    failing = receiver._failing > 0
                    if failing:
                        receiver._failing -= 1
                        receiver.refused += 1
                    else:
                        receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(503 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/audit"

    def start(self) -> "Receiver":
        threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, n: int) -> None:
        with self.lock:
            self._failing = n

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [body for _, body in self.received]
