"""CPU per webhook inside one process: the WSGI app called directly over pre-built signed
requests (bench/make_requests.py), against a real Redis, timed with time.process_time.

No server, no sockets to the client and no other process on the clock, so the figure is
steadier on a shared machine than the receiver benchmark's; it is what to compare before and
after a change to the request path. `--profile` prints cProfile's top functions instead.

    PYTHONPATH=. python -m bench.inprocess --requests 3000 --rounds 5
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import statistics
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from werkzeug.test import EnvironBuilder

from app import create_app
from app.settings import Settings
from bench import make_requests
from bench.scratch import scratch_database
from tests.conftest import SECRETS


def environs(requests: list[make_requests.Request]) -> list[tuple[dict[str, Any], bytes]]:
    built = []
    for request in requests:
        target = urlsplit(request.target)
        environ = EnvironBuilder(
            path=target.path,
            query_string=target.query,
            method="POST",
            headers=request.headers,
            data=request.body,
        ).get_environ()
        built.append((environ, request.body))
    return built


def run(app: Any, prepared: list[tuple[dict[str, Any], bytes]]) -> tuple[float, Counter[str]]:
    """Seconds of CPU for all requests, and the statuses answered."""
    statuses: Counter[str] = Counter()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses[status[:3]] += 1
        return lambda data: None

    environs_ = []
    for environ, body in prepared:  # fresh input streams, outside the timed loop
        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environs_.append(environ)
    started = time.process_time()
    for environ in environs_:
        for _ in app(environ, start_response):
            pass
    return time.process_time() - started, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duplicates", type=float, default=0.1)
    # Outside 9-15, which test sessions claim (tests/conftest.py) and flush.
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--app", choices=["klaxon", "bare"], default="klaxon")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--log", default="/dev/null", help="where the request log goes")
    args = parser.parse_args()

    with open(args.log, "w") as sink:
        measure(args, sink)


def measure(args: argparse.Namespace, sink: io.TextIOBase) -> None:
    database = scratch_database(args.redis_url)
    if args.app == "bare":
        from bench.bare_app import app
    else:
        app = create_app(Settings.from_env({**SECRETS, "REDIS_URL": args.redis_url}))
        [handler] = logging.getLogger("klaxon").handlers
        handler.setStream(sink)  # type: ignore[attr-defined]
    requests = make_requests.build(args.requests * (args.rounds + 1), args.duplicates)
    prepared = environs(requests)
    n = args.requests
    database.flushdb()
    run(app, prepared[:n])  # warm-up: imports, script load, caches
    results = []
    for k in range(1, args.rounds + 1):
        batch = prepared[k * n : (k + 1) * n]
        if args.profile and k == args.rounds:
            profiler = (
                cProfile.Profile()
            )  # wall clock: a process_time timer costs more than it measures
            profiler.enable()
            run(app, batch)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            break
        seconds, statuses = run(app, batch)
        results.append(seconds / n * 1e6)
        print(f"round {k}: {results[-1]:.0f} µs/request  {dict(statuses)}")
    if results:
        print(
            f"median: {statistics.median(results):.0f} µs/request "
            f"(min {min(results):.0f}) over {len(results)} x {n} requests"
        )
    database.flushdb()


if __name__ == "__main__":
    main()
