"""The web process as Heroku starts it: the Procfile's `web` line through bash, on a free
loopback port, with the test secrets and a real Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import SECRETS, free_port

ROOT = Path(__file__).parent.parent


def procfile_web() -> str:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())["web"]


@contextmanager
def procfile_web_process(
    redis_url: str, log: Path, env: dict[str, str] | None = None, command: str | None = None
) -> Iterator[int]:
    """Yields the port once /readyz answers; SIGTERM to the process group at the end."""
    port = free_port()
    environ = {
        **os.environ,
        **SECRETS,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "REDIS_URL": redis_url,
        "KLAXON_RULES_DIR": str(ROOT / "rules"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        **(env or {}),
    }
    with log.open("w") as output:
        server = subprocess.Popen(
            ["bash", "-c", f"exec {command or procfile_web()}"],
            cwd=ROOT,
            env=environ,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60  # a loaded 2-core machine imports slowly
        while not _ready(port):
            assert server.poll() is None, "web exited:\n" + log.read_text()[-3000:]
            assert time.monotonic() < deadline, "web never ready:\n" + log.read_text()[-3000:]
            time.sleep(0.2)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def stalled_post(
    port: int, path: str, headers: dict[str, str], sent: bytes = b'{"id": "1"'
) -> socket.socket:
    """A POST that promises a 10,000-byte body, sends `sent` of it and then waits."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 10000\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall(head.encode() + b"\r\n" + sent)
    return sock


def status_line(sock: socket.socket, timeout: float) -> bytes:
    """The status line the server answered within `timeout` (b"" if it only closed)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]
