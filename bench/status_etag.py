"""What a poller of the public status costs: GET /api/v2/summary.json and /status/feed.atom
built in full, and the same with If-None-Match (a 304 decided from the incidents' updated_at,
app/pages/freshness.py), with N public incidents (each with two status updates) in an empty
Redis database. Wall time per request through Flask's test client, in process.

    redis-server --port 6390 --save '' --appendonly no --daemonize yes
    PYTHONPATH=. python -m bench.status_etag --redis-url redis://127.0.0.1:6390/15 --incidents 50
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import redis

from app import create_app
from app.clock import VirtualClock
from app.settings import Settings

TOKEN = "bench-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def seed(client, clock: VirtualClock, count: int) -> None:
    for n in range(count):
        incident = client.post(
            "/api/incidents",
            json={"title": f"Checkout down {n}", "severity": "SEV1", "service": "checkout-api"},
            headers=AUTH,
        ).get_json()["incident"]
        for status in ("identified", "monitoring"):
            clock.advance(60)
            client.post(
                f"/api/incidents/{incident}/updates",
                json={"status": status, "message": f"Update {status} for {n}", "by": "Ana"},
                headers=AUTH,
            )
        if n % 2:
            client.post(f"/api/incidents/{incident}/resolve", json={}, headers=AUTH)


def per_request(client, path: str, headers: dict[str, str], expect: int, calls: int) -> float:
    for _ in range(20):  # warm: templates compiled, scripts loaded
        assert client.get(path, headers=headers).status_code == expect
    started = time.perf_counter()
    for _ in range(calls):
        client.get(path, headers=headers)
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True, help="an EMPTY database: it is flushed")
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    connection = redis.Redis.from_url(args.redis_url)
    if connection.dbsize():
        sys.exit(f"{args.redis_url} is not empty; give an empty database")
    logging.disable(logging.INFO)  # one request log line per call would dominate
    clock = VirtualClock()
    settings = Settings.from_env({"KLAXON_API_TOKEN": TOKEN, "REDIS_URL": args.redis_url})
    try:
        client = create_app(settings, connection=connection, clock=clock).test_client()
        seed(client, clock, args.incidents)
        for path in ("/api/v2/summary.json", "/status/feed.atom"):
            etag = client.get(path).headers["ETag"]
            full = per_request(client, path, {}, 200, args.calls)
            cached = per_request(client, path, {"If-None-Match": etag}, 304, args.calls)
            print(
                f"{path} with {args.incidents} incidents: 200 {full * 1e3:.2f} ms, "
                f"304 {cached * 1e3:.2f} ms ({full / cached:.0f}x)"
            )
    finally:
        connection.flushdb()


if __name__ == "__main__":
    main()
