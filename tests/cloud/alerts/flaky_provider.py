"""A tiny in-test HTTP provider answering a scripted sequence of statuses.

It speaks just enough of both APIs for the official SDKs: Twilio's
``POST /2010-04-01/Accounts/{sid}/Messages.json`` (201 + message JSON with a ``sid``)
and SendGrid's ``POST /v3/mail/send`` (202 + ``X-Message-Id``). Errors answer with the
provider's error JSON. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Script:
    statuses: list[int]  # consumed in order; when empty, ``then`` answers
    then: int = 200
    retry_after: str = "1"
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.then


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            script.requests.append((self.path, body))
            status = script.next_status()
            n = len(script.requests)
            if status >= 400:
                payload = json.dumps({"code": 20000 + status, "message": f"scripted {status}",
                                      "status": status}).encode()
                extra = {"Retry-After": script.retry_after} if status == 429 else {}
                self._reply(status, payload, extra)
            elif "/Messages.json" in self.path:
                sid = f"SM{n:032x}"
                self._reply(201, json.dumps({"sid": sid, "status": "queued",
                                             "body": "x"}).encode(), {})
            else:
                self._reply(202, b"", {"X-Message-Id": f"flaky-{n}"})

        def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def flaky_provider(statuses: list[int], then: int = 200, retry_after: str = "1"
                   ) -> Iterator[tuple[str, Script]]:
    """Serve on a free loopback port; yield (base URL, script)."""
    script = Script(list(statuses), then, retry_after)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
