"""A fake of the grid services for tests: a small HTTP server on 127.0.0.1 in a thread
(the standard library's, so no test dependency more), answering each path with what a test
told it (the hand-written fixtures in tests/grid_fixtures/, an error status, a slow answer
or a broken body), and recording what was asked. Plus a guard that fails any test opening
a socket to anything but loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

FIXTURES = Path(__file__).resolve().parent / "grid_fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Answer:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/json"
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class FakeGrid:
    """``answer(path, ...)`` sets what a path gets (query ignored; the latest wins);
    ``requests`` lists (path, query) asked, in order."""

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.requests: list[tuple[str, str]] = []
        # (method, path, headers, body) of every request, for the POSTs' payloads.
        self.calls: list[tuple[str, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.do_GET()

            def do_PUT(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake.lock:
                    fake.requests.append((parts.path, parts.query))
                    fake.calls.append((self.command, parts.path, dict(self.headers), body))
                    queue = fake.answers.get(parts.path, [])
                    answer = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else None)
                if answer is None:
                    answer = Answer(b'{"detail": "not found"}', 404)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str, *answers: Answer) -> None:
        """Answers in turn; the last one repeats."""
        with self.lock:
            self.answers[path] = list(answers)

    def asked(self, path: str, method: str = "") -> int:
        with self.lock:
            return sum(1 for m, p, _, _ in self.calls if p == path and method in ("", m))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test talks to the internet: a connection to anything but loopback fails it."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            pytest.fail(f"a test tried to connect to {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def fake_grid(settings, loopback_only) -> Iterator[FakeGrid]:  # type: ignore[no-untyped-def]
    """The fake server, with every grid service pointed at it and quick timeouts."""
    fake = FakeGrid()
    settings.GRID_SERVICES = {
        "gocdb": {"url": fake.url + "/gocdbpi/public"},
        "cric": {"url": fake.url},
        "bigpanda": {"url": fake.url},
        "rucio": {
            "url": fake.url,
            "token": "rucio-test-token",
            "auth_header": "X-Rucio-Auth-Token",
            "auth_scheme": "",
        },
        "ggus": {"url": fake.url, "token": "ggus-test-token", "auth_scheme": "Token token="},
    }
    settings.GOCDB_PATH = "/"
    settings.GRID_HTTP_TIMEOUT_S = 0.5
    settings.GRID_HTTP_RETRIES = 2
    settings.GRID_HTTP_BACKOFF_S = 0.01
    settings.GRID_BREAKER_FAILURES = 2
    settings.GRID_BREAKER_OPEN_S = 300
    try:
        yield fake
    finally:
        fake.close()


def serve_directory(fake: FakeGrid) -> None:
    """The recorded-style CRIC and GOCDB answers."""
    fake.answer("/api/atlas/pandaqueue/query/", Answer(fixture("cric_pandaqueues.json")))
    fake.answer("/api/atlas/ddmendpoint/query/", Answer(fixture("cric_ddmendpoints.json")))
    fake.answer(
        "/gocdbpi/public/",
        Answer(fixture("gocdb_downtimes.xml"), content_type="text/xml"),
    )
