"""A Klaxon as the Procfile runs it, for end-to-end tests: the web app under granian with
several worker processes on a free loopback port, and `python -m workers`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from conftest import free_port

ROOT = Path(__file__).parent.parent


@contextmanager
def web(env: dict[str, str], processes: int = 2) -> Iterator[str]:
    """granian serving the app as the Procfile does (RSGI, app/front.py before Flask); yields
    its base URL once /healthz answers."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "rsgi",
            "--no-ws",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(processes),
            "app.web:app",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, ended whole below
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(base):
            assert server.poll() is None, "granian exited"
            assert time.monotonic() < deadline, "granian never answered"
            time.sleep(0.2)
        yield base
    finally:  # also when it never answered: no server may outlive its test
        # The whole group: a granian worker whose master was killed would live on.
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(server.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
        server.wait()


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).ok
    except requests.RequestException:
        return False


@contextmanager
def workers(env: dict[str, str], processes: int = 1) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m workers` (with its ticker), stopped with SIGTERM as Heroku stops it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workers", "--processes", str(processes)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, seconds: float = 30, what: str = "the condition"):  # type: ignore[no-untyped-def]
    """Poll `condition` until it returns something truthy; that value."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
