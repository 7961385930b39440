"""Stalled request bodies against the web process exactly as the Procfile starts it.

Opens N connections that each send a webhook's headers with a Content-Length larger than
what follows, send a few bytes and then wait (half of them with the right X-Klaxon-Token,
half with a wrong one); then, while they wait, sends valid webhooks and GET /healthz one at a
time and measures how long each takes to be answered. Reports what became of the stalled
connections (answered with which status, or still open) at the end.

    PYTHONPATH=. python -m bench.slowloris --stalled 64 --requests 20

Loopback only; Redis from --redis-url (database 12 by default, flushed first).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.scratch import scratch_database
from tests.conftest import SECRETS

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "webhooks" / "datadog" / "triggered.json"
TOKEN = SECRETS["DATADOG_WEBHOOK_TOKEN"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile_web() -> str:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())["web"]


@contextmanager
def web_process(redis_url: str, log: Path, extra_env: dict[str, str]) -> Iterator[int]:
    """The Procfile's web line run through bash as Heroku does; yields its port once ready."""
    port = free_port()
    env = {
        **os.environ,
        **SECRETS,
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "KLAXON_RULES_DIR": str(ROOT / "rules"),
        "KLAXON_LOG_LEVEL": "WARNING",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        **extra_env,
    }
    with log.open("wb") as output:
        server = subprocess.Popen(
            ["bash", "-c", f"exec {procfile_web()}"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("web never ready:\n" + log.read_text()[-3000:]) from None
                time.sleep(0.2)
        yield port
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def stall(port: int, token: str, what: str) -> socket.socket:
    """A connection that promised 100,000 bytes of body and sent 10 (what="body"), or that
    stops in the middle of its headers (what="headers")."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    request = (
        "POST /webhooks/datadog HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"X-Klaxon-Token: {token}\r\n"
        "Content-Length: 100000\r\n\r\n"
        '{"id": "1"'
    )
    sock.sendall(request.encode() if what == "body" else request[:60].encode())
    return sock


def timed(url: str, body: bytes | None, headers: dict[str, str], timeout: float) -> float | None:
    """Seconds until the answer (None: no answer within timeout)."""
    request = urllib.request.Request(url, data=body, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        return None
    if status >= 400:
        raise SystemExit(f"{url} answered {status}")
    return time.perf_counter() - started


def outcome(sock: socket.socket) -> str:
    """What a stalled connection got: an HTTP status, 'closed' or 'open'."""
    sock.setblocking(False)
    try:
        data = sock.recv(200)
    except BlockingIOError:
        return "open"
    except OSError:
        return "closed"
    finally:
        sock.close()
    if not data:
        return "closed"
    return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "garbage"


def summary(latencies: list[float | None]) -> str:
    answered = sorted(x for x in latencies if x is not None)
    missed = len(latencies) - len(answered)
    if not answered:
        return f"none answered ({missed} timed out)"
    return (
        f"median {statistics.median(answered) * 1000:.0f} ms, max {answered[-1] * 1000:.0f} ms"
        + (f", {missed} timed out" if missed else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stalled", type=int, default=64)
    parser.add_argument("--stall", choices=["body", "headers"], default="body")
    parser.add_argument("--requests", type=int, default=20, help="valid webhooks and /healthz")
    parser.add_argument("--timeout", type=float, default=10, help="per measured request, s")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the web")
    args = parser.parse_args()
    scratch_database(args.redis_url).flushdb()
    extra_env = dict(item.split("=", 1) for item in args.env)
    payload = json.loads(FIXTURE.read_bytes())
    with (
        tempfile.TemporaryDirectory() as tmp,
        web_process(args.redis_url, Path(tmp) / "web.log", extra_env) as port,
    ):
        base = f"http://127.0.0.1:{port}"
        headers = {"Content-Type": "application/json", "X-Klaxon-Token": TOKEN}
        stalled = [
            stall(port, TOKEN if i % 2 == 0 else "wrong", args.stall) for i in range(args.stalled)
        ]
        time.sleep(0.5)  # let the server take them all up
        started = time.monotonic()
        webhooks, health = [], []
        for i in range(args.requests):
            body = json.dumps({**payload, "id": f"{os.getpid()}{i}"}).encode()
            webhooks.append(timed(f"{base}/webhooks/datadog", body, headers, args.timeout))
            health.append(timed(f"{base}/healthz", None, {}, args.timeout))
        held = time.monotonic() - started + 0.5
        fates = Counter(outcome(sock) for sock in stalled)
    print(f"command: {procfile_web()}  {' '.join(args.env)}")
    print(
        f"{args.stalled} connections stalled in their {args.stall} (half with the right "
        f"token), held {held:.1f} s"
    )
    print(f"valid webhooks ({args.requests}): {summary(webhooks)}")
    print(f"/healthz ({args.requests}): {summary(health)}")
    print("stalled connections at the end: " + ", ".join(f"{k}: {v}" for k, v in fates.items()))


if __name__ == "__main__":
    main()
