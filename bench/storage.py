"""Storage per webhook: how much Redis grows while a running Klaxon receives Datadog webhooks,
measured on a redis-server of its own (INFO used_memory before and after, the server idle) and
broken down by key family (MEMORY USAGE of every key).

Three phases against one web process (granian, the production server), each a fresh delivery id
per webhook:
  1. `--webhooks` webhooks about `--problems` problems: each problem fires, repeats, recovers
     and fires again (episodes of `--episode` webhooks), as a monitor does;
  2. the same again about as many new problems;
  3. 20 deliveries of one ~900 KB alert.

    python -m bench.storage --webhooks 40000 --problems 200

Limits it checks (issue 12): phase 1 <= 100 bytes a webhook, phase 2 <= 150, phase 3 <= 2 MB.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.conftest import SECRETS, WEBHOOKS

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TRIGGERED = json.loads((WEBHOOKS / "datadog" / "triggered.json").read_text())
RECOVERED = json.loads((WEBHOOKS / "datadog" / "recovered.json").read_text())
HEADERS = {
    "Content-Type": "application/json",
    "X-Klaxon-Token": SECRETS["DATADOG_WEBHOOK_TOKEN"],
}
LIMITS = {"known problems": 100.0, "new problems": 150.0}  # bytes a webhook
BIG_ALERT_LIMIT = 2 * 1024 * 1024


def webhook(monitor: str, delivery: str, recovered: bool = False, padding: int = 0) -> bytes:
    body = json.loads(json.dumps(RECOVERED if recovered else TRIGGERED))
    body["id"] = delivery
    body["alert"]["id"] = monitor
    if padding:  # a monitor message with a huge body, as some templates produce
        body["body"] = "x" * padding
    return json.dumps(body).encode()


def stream(first: int, problems: int, count: int, episode: int, run: str) -> Iterator[bytes]:
    """`count` webhooks about problems first..first+problems-1, interleaved: in each problem's
    episode of `episode` webhooks the last one recovers it and the next episode fires again."""
    for n in range(count):
        problem, step = first + n % problems, n // problems
        yield webhook(
            f"bench-{problem}",
            f"{run}-{n}",
            recovered=step % episode == episode - 1,
        )


def send_all(port: int, bodies: Iterator[bytes], threads: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                body = next(bodies, None)
            if body is None:
                connection.close()
                return
            connection.request("POST", "/webhooks/datadog", body, HEADERS)
            response = connection.getresponse()
            response.read()
            with lock:
                statuses[response.status] += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return statuses


def used_memory(database: redis.Redis) -> int:
    time.sleep(0.5)  # let lazy frees and client buffers settle
    return int(database.info("memory")["used_memory"])


def by_family(database: redis.Redis) -> dict[str, int]:
    """MEMORY USAGE of every key, summed by family (`klaxon:<kind>[:*:<part>]`, ids left out)."""
    families: Counter[str] = Counter()
    for key in database.scan_iter(count=5000):
        parts = key.decode().split(":")
        family = ":".join(parts[:2])
        if parts[0] == "klaxon" and parts[1] in ("alert", "incident") and len(parts) > 3:
            family += ":*:" + parts[3]
        elif parts[0] == "klaxon" and parts[1] == "incidents" and len(parts) == 3:
            family += ":" + parts[2]
        families[family] += database.memory_usage(key, samples=0) or 0
    return dict(families.most_common())


@contextmanager
def redis_server(port: int) -> Iterator[redis.Redis]:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    database = redis.Redis(port=port)
    try:
        _wait(lambda: database.ping())
        yield database
    finally:
        process.terminate()
        process.wait()


@contextmanager
def web(port: int, redis_port: int, workers: int, log: Path) -> Iterator[None]:
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        **SECRETS,
        "PYTHONPATH": python_path,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "KLAXON_LOG_LEVEL": "WARNING",
    }
    command = [str(BIN / "granian"), "--interface", "wsgi", "--workers", str(workers)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "app.wsgi:app"], env=env, cwd=ROOT, stdout=output, stderr=output
        )
        try:
            _wait(lambda: _answers(port))
            yield
        finally:
            process.terminate()
            process.wait(timeout=15)


def main() -> None:
    args = _arguments()
    workdir = Path(tempfile.mkdtemp(prefix="klaxon-storage-"))
    redis_port, web_port = _free_port(), _free_port()
    results: dict[str, float] = {}
    problems: list[str] = []
    with (
        redis_server(redis_port) as database,
        web(web_port, redis_port, args.workers, workdir / "web.log"),
    ):
        send_all(web_port, iter([webhook("warm-up", "warm-up")]), 1)
        for phase, first in (("known problems", 0), ("new problems", args.problems)):
            before = used_memory(database)
            bodies = stream(first, args.problems, args.webhooks, args.episode, phase[:5])
            started = time.monotonic()
            statuses = send_all(web_port, bodies, args.threads)
            seconds = time.monotonic() - started
            grown = used_memory(database) - before
            per_webhook = grown / args.webhooks
            results[phase] = per_webhook
            print(
                f"{phase}: {args.webhooks} webhooks about {args.problems} problems in "
                f"{seconds:.1f} s; statuses {dict(statuses)}; Redis grew {grown:,} bytes = "
                f"{per_webhook:.1f} bytes a webhook (limit {LIMITS[phase]:.0f})"
            )
            if per_webhook > LIMITS[phase]:
                problems.append(f"{phase}: {per_webhook:.1f} bytes a webhook")
            if set(statuses) != {202}:
                problems.append(f"{phase}: statuses {dict(statuses)}")
        before = used_memory(database)
        big = [webhook("bench-big", f"big-{n}", padding=900_000) for n in range(20)]
        statuses = send_all(web_port, iter(big), 1)
        grown = used_memory(database) - before
        results["900 KB alert x 20"] = grown
        print(
            f"20 deliveries of one {len(big[0]):,}-byte alert: statuses {dict(statuses)}; "
            f"Redis grew {grown:,} bytes (limit {BIG_ALERT_LIMIT:,})"
        )
        if grown > BIG_ALERT_LIMIT or set(statuses) != {202}:
            problems.append(f"900 KB alert: {grown:,} bytes, statuses {dict(statuses)}")
        print("bytes by key family at the end:")
        for family, size in by_family(database).items():
            print(f"  {family:<40} {size:>12,}")
    print("check: " + ("; ".join(problems) if problems else "ok"))
    sys.exit(1 if problems else 0)


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def _wait(ready: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (OSError, redis.ConnectionError):
            pass
        time.sleep(0.1)
    raise SystemExit("timed out waiting for a server to start")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--webhooks", type=int, default=40_000, help="per phase")
    parser.add_argument("--problems", type=int, default=200, help="per phase")
    parser.add_argument("--episode", type=int, default=50, help="webhooks per episode")
    parser.add_argument("--workers", type=int, default=2, help="granian workers")
    parser.add_argument("--threads", type=int, default=8, help="concurrent senders")
    return parser.parse_args()


if __name__ == "__main__":
    main()
