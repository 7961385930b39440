"""What each hot-path choice saves per webhook, against the plain library path, in one process
(docs/decisions.md, "The hot path, measured").

The choices, each switched off on its own while the others stay on:

    fastpath   app/fastpath.py answers POST /webhooks/<source>; off: Flask's request cycle
    lua        app/store/lua.py sends EVALSHA itself; off: redis-py's register_script
    jsontext   app/jsontext.py (orjson where it answers like json); off: the json module
    freeze     gc.freeze() after start-up; off: gc.unfreeze(), the collector walks everything

The WSGI app is called directly over pre-built signed requests (bench/make_requests.py), as
bench/inprocess.py does, against a real Redis. Two ways to count:

- `--interleave`: rounds of every variant in turn (order rotated each round) on fresh requests,
  CPU time per request (time.process_time) and the 99th percentile of single requests; medians
  over rounds and the ratio to "all on" from the same run, so machine load moves all alike.
- `--variant NAME --requests N`: one variant, for valgrind's callgrind, which counts
  instructions and is not moved by load. Run it at two request counts and divide the
  difference by the difference in requests: start-up and warm-up cancel out.

    PYTHONPATH=. python -m bench.hotpath --interleave --requests 1000 --rounds 9
    PYTHONPATH=. valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python -m bench.hotpath --variant lua --requests 600
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from app import create_app, jsontext
from app.settings import Settings
from bench import make_requests
from bench.inprocess import environs
from bench.scratch import scratch_database
from tests.conftest import SECRETS

VARIANTS = ("all-on", "fastpath", "lua", "jsontext", "freeze")


def _plain_loads_body(body: bytes) -> Any:
    """jsontext.loads_body's own fallback: the json module, lone surrogates repaired."""
    value = json.loads(body.decode(json.detect_encoding(body)))
    if jsontext._SURROGATE_ESCAPE.search(body) or b"\x00" in body[:4]:
        value = jsontext._repair_surrogates(value)
    return value


def _plain_dumps_bytes(value: Any, default: Any = None, sort_keys: bool = False) -> bytes:
    options: dict[str, Any] = {"separators": (",", ":"), "default": default, "sort_keys": sort_keys}
    try:
        return json.dumps(value, ensure_ascii=False, **options).encode()
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, **options).encode()


PLAIN_JSON: dict[str, Callable[..., Any]] = {
    "loads_body": _plain_loads_body,
    "loads": json.loads,
    "dumps_bytes": _plain_dumps_bytes,
    "dumps": lambda value: _plain_dumps_bytes(value).decode(),
}


def switch_off(app: Flask, variant: str) -> Callable[[], None]:
    """Replace one choice by the plain library path; returns what puts it back."""
    if variant == "fastpath":
        fast = app.wsgi_app
        app.wsgi_app = fast.wrapped  # type: ignore[attr-defined, method-assign]
        return lambda: setattr(app, "wsgi_app", fast)
    if variant == "lua":
        store = app.extensions["klaxon"].incidents
        lean = store._script
        registered = store.connection.register_script(lean.source.decode())
        store._script = lambda *args: registered(keys=[], args=list(args))
        return lambda: setattr(store, "_script", lean)
    if variant == "jsontext":
        saved = {name: getattr(jsontext, name) for name in PLAIN_JSON}
        for name, plain in PLAIN_JSON.items():
            setattr(jsontext, name, plain)
        return lambda: [setattr(jsontext, name, kept) for name, kept in saved.items()] and None
    if variant == "freeze":
        gc.unfreeze()
        return lambda: (gc.collect(), gc.freeze()) and None
    return lambda: None


def run(app: Flask, batch: list[tuple[dict[str, Any], bytes]]) -> tuple[float, list[int], int]:
    """CPU seconds for the batch, each request's CPU in ns, and how many were not 2xx."""
    refused = 0

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        nonlocal refused
        refused += not status.startswith("2")
        return lambda data: None

    prepared = []
    for environ, body in batch:  # fresh input streams, outside the timed loop
        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        prepared.append(environ)
    each = []
    clock = time.process_time_ns
    started = clock()
    for environ in prepared:
        before = clock()
        for _ in app(environ, start_response):
            pass
        each.append(clock() - before)
    return (clock() - started) / 1e9, each, refused


def build_app(redis_url: str) -> Flask:
    app = create_app(Settings.from_env({**SECRETS, "REDIS_URL": redis_url}))
    [handler] = logging.getLogger("klaxon").handlers
    handler.setStream(open("/dev/null", "w"))  # type: ignore[attr-defined]
    return app


def interleave(args: argparse.Namespace) -> None:
    database = scratch_database(args.redis_url)
    database.flushdb()
    app = build_app(args.redis_url)
    n = args.requests
    prepared = environs(make_requests.build(n * (len(VARIANTS) * args.rounds + 1), 0.1))
    run(app, prepared[:n])  # warm-up: imports, script load, caches
    cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
    p99: dict[str, list[float]] = {v: [] for v in VARIANTS}
    next_batch = 1
    for round_ in range(args.rounds):
        order = VARIANTS[round_ % len(VARIANTS) :] + VARIANTS[: round_ % len(VARIANTS)]
        for variant in order:
            batch = prepared[next_batch * n : (next_batch + 1) * n]
            next_batch += 1
            put_back = switch_off(app, variant)
            seconds, each, refused = run(app, batch)
            put_back()
            assert refused == 0, f"{variant}: {refused} requests not 2xx"
            cpu[variant].append(seconds / n * 1e6)
            p99[variant].append(statistics.quantiles(each, n=100)[98] / 1e3)
    base_cpu, base_p99 = statistics.median(cpu["all-on"]), statistics.median(p99["all-on"])
    print(f"{args.rounds} rounds x {n} requests per variant, CPU per request (process_time)")
    print(f"{'off':10} {'µs/req':>8} {'ratio':>6} {'p99 µs':>8} {'ratio':>6}   spread (min-max µs)")
    for variant in VARIANTS:
        mid, tail = statistics.median(cpu[variant]), statistics.median(p99[variant])
        print(
            f"{variant:10} {mid:8.0f} {mid / base_cpu:6.2f} {tail:8.0f} {tail / base_p99:6.2f}"
            f"   {min(cpu[variant]):.0f}-{max(cpu[variant]):.0f}"
        )
    database.flushdb()


def single(args: argparse.Namespace) -> None:
    """Warm up, then the requests with one choice off: for callgrind's instruction count."""
    database = scratch_database(args.redis_url)
    database.flushdb()
    app = build_app(args.redis_url)
    warm, most = 200, 1000  # the same requests built whatever the count: only the run differs
    assert args.requests <= most
    prepared = environs(make_requests.build(warm + most, 0.1))
    run(app, prepared[:warm])
    switch_off(app, args.variant)  # not put back: the count ends with the run
    _, _, refused = run(app, prepared[warm : warm + args.requests])
    assert refused == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--interleave", action="store_true")
    parser.add_argument("--variant", choices=VARIANTS, default="all-on")
    # Outside 9-15, which test sessions claim (tests/conftest.py) and flush.
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()
    interleave(args) if args.interleave else single(args)


if __name__ == "__main__":
    main()
