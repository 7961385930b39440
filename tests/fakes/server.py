"""A loopback HTTP(S) server that plays a vendor API in tests: it records every request, checks
credentials, and can be told to misbehave for the next N requests (status, slow, drop, reset,
lose: act on the request, then never answer).

Vendor behaviour lives in subclasses (`vendors.py`): `route(request) -> Answer`.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

FaultKind = Literal["status", "slow", "drop", "reset", "lose"]


@dataclass(frozen=True)
class Recorded:
    """One request as the fake saw it. `headers` keys are lower-case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any
    time: float
    peer: tuple[str, int] | None = None  # the client's address: one per TCP connection


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0


class FakeServer:
    """Base of the vendor fakes. Start with `start()` (or as a context manager)."""

    name = "fake"

    def __init__(self, tls: ssl.SSLContext | None = None, ca_file: Path | None = None) -> None:
        self._tls = tls
        self.ca_file = ca_file  # the CA a client must trust when tls is given
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._answers: list[Answer] = []
        self._faults: deque[Fault] = deque()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self), self._tls)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() the fake first"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    # ---- what the tests read ---------------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def answers(self) -> list[Answer]:
        """What the fake answered, for requests that got an answer (faults included)."""
        with self._lock:
            return list(self._answers)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._answers.clear()
            self._faults.clear()

    # ---- fault injection: applies to the next n requests, in order -------------------------
    def fail_next(
        self,
        status: int,
        n: int = 1,
        *,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next n requests with `status` (and a vendor-like error body)."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra.update(self.retry_headers(retry_after))
        fault_body = body if body is not None else self.error_body(status)
        self._add(Fault("status", status=status, headers=extra, body=fault_body), n)

    def slow_next(self, delay: float, n: int = 1) -> None:
        """Wait `delay` seconds before answering normally (or until the fake stops)."""
        self._add(Fault("slow", delay=delay), n)

    def lose_next(self, delay: float = 0.0, n: int = 1) -> None:
        """Do what the request asks, then hold the answer `delay` seconds (or until the fake
        stops) and close the connection: the vendor acted, the client never hears of it."""
        self._add(Fault("lose", delay=delay), n)

    def drop_next(self, n: int = 1) -> None:
        """Read the request, then close the connection without answering."""
        self._add(Fault("drop"), n)

    def reset_next(self, n: int = 1) -> None:
        """Read the request, then reset the connection (RST)."""
        self._add(Fault("reset"), n)

    def _add(self, fault: Fault, n: int) -> None:
        with self._lock:
            self._faults.extend([fault] * n)

    # ---- vendor hooks ----------------------------------------------------------------------
    def route(self, request: Recorded) -> Answer:
        return Answer(404, {"message": "not found"})

    def retry_headers(self, seconds: float) -> dict[str, str]:
        return {"Retry-After": str(int(seconds))}

    def error_body(self, status: int) -> Any:
        return {"message": f"injected {status}"}

    # ---- request handling (called from the handler thread) --------------------------------
    def _record(self, request: Recorded) -> Fault | None:
        with self._lock:
            self._requests.append(request)
            return self._faults.popleft() if self._faults else None

    def _answer(self, request: Recorded, fault: Fault | None) -> Answer | Fault:
        if fault is None:
            return self.route(request)
        if fault.kind == "status":
            return Answer(fault.status, fault.body, fault.headers)
        if fault.kind == "slow":
            self._stopping.wait(fault.delay)
            return self.route(request)
        if fault.kind == "lose":
            self.route(request)
            self._stopping.wait(fault.delay)
        return fault


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # socketserver's 5 drops SYNs when tests send concurrently

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        tls: ssl.SSLContext | None,
    ) -> None:
        self.tls = tls
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as servers do; see wbufsize
        if self.tls is not None:  # handshake later, in the handler thread, not in accept()
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that gave up (timeouts, resets) are part of the tests


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10
        # Buffered: each answer leaves in one write, flushed by handle_one_request, as real
        # servers send it. Unbuffered, the body followed the headers as a second small write
        # that Nagle held back until the client's delayed ACK: ~40 ms added to every call.
        wbufsize = -1

        def setup(self) -> None:
            super().setup()
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.do_handshake()

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            request = self._read()
            outcome = fake._answer(request, fake._record(request))
            if isinstance(outcome, Fault):
                self._cut(outcome.kind == "reset")
            else:
                with fake._lock:
                    fake._answers.append(outcome)
                self._send(outcome)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def _read(self) -> Recorded:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            parts = urlsplit(self.path)
            return Recorded(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                raw,
                parsed,
                time.monotonic(),
                tuple(self.client_address[:2]),
            )

        def _send(self, answer: Answer) -> None:
            data = (
                answer.body
                if isinstance(answer.body, bytes)
                else (b"" if answer.body is None else json.dumps(answer.body).encode())
            )
            self.send_response(answer.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **answer.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _cut(self, reset: bool) -> None:
            self.close_connection = True
            if reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            else:
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    return Handler
