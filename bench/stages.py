"""CPU of each step of the webhook path, in tight loops over the same pre-built requests
(bench/make_requests.py), no server and no Redis: which step to work on next. The best of
--repeat runs of each step is reported, which is steady on a shared machine.

    PYTHONPATH=. python -m bench.stages --requests 2000
"""

from __future__ import annotations

import argparse
import io
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.datastructures import EnvironHeaders
from werkzeug.test import EnvironBuilder

from app import create_app, jsontext, webhooks
from app.logs import log_request
from app.pipeline import decision_for_store
from app.ruleset import classify
from app.settings import Settings
from app.store import keys
from app.store.budget import StorageBudget
from app.store.incidents import _event_args
from bench import make_requests
from tests.conftest import SECRETS


def best(step: Callable[[Any], Any], items: list[Any], repeat: int) -> float:
    """Best µs per item over `repeat` passes."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        for item in items:
            step(item)
        times.append((time.process_time() - started) / len(items) * 1e6)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    app = create_app(Settings.from_env({**SECRETS, "REDIS_URL": "redis://127.0.0.1:6379/5"}))
    [handler] = logging.getLogger("klaxon").handlers
    handler.setStream(io.StringIO())  # type: ignore[attr-defined]
    klaxon = app.extensions["klaxon"]
    requests = [r for r in make_requests.build(args.requests, 0.0)]
    rows = []
    for r in requests:
        target = urlsplit(r.target)
        source = klaxon.sources[target.path.rsplit("/", 1)[1]]
        environ = EnvironBuilder(
            path=target.path,
            query_string=target.query,
            method="POST",
            headers=r.headers,
            data=r.body,
        ).get_environ()
        rows.append(
            (source, EnvironHeaders(environ), r.body, environ, app.request_class(environ).args)
        )
    parsed = [(s, h, b, s.parse(h, jsontext.loads_body(b), b)) for s, h, b, *_ in rows]
    alerts = [p.alerts[0] for *_, p in parsed if p.alerts]
    now = klaxon.clock.now()
    decisions = [(a, classify(a, klaxon.ruleset, now)) for a in alerts]
    for_store = [(a, decision_for_store(a, d, klaxon.ruleset)) for a, d in decisions]
    n = args.repeat
    steps = {
        "request object (werkzeug)": (lambda row: app.request_class(row[3]).headers.get("x"), rows),
        "verify": (lambda row: row[0].verify(row[1], row[2], row[4]), rows),
        "decode body": (lambda row: webhooks._decode("x", row[2]), rows),
        "parse (source)": (
            lambda row: row[0].parse(row[1], jsontext.loads_body(row[2]), row[2]),
            rows,
        ),
        "classify": (lambda a: classify(a, klaxon.ruleset, now), alerts),
        "decision_for_store": (
            lambda ad: decision_for_store(ad[0], ad[1], klaxon.ruleset),
            decisions,
        ),
        "event args + JSON": (
            lambda at: jsontext.dumps_bytes(
                _event_args(
                    at[0],
                    keys.alert_id(at[0].source, at[0].identity),
                    at[1],
                    now,
                    3600,
                    StorageBudget(),
                )
            ),
            for_store,
        ),
        "alert JSON": (lambda a: a.to_json(), alerts),
        "log line": (
            lambda a: log_request(
                "POST",
                "/webhooks/datadog",
                202,
                time.perf_counter(),
                {
                    "source": "datadog",
                    "event": a.event_type,
                    "delivery": a.delivery_id,
                    "outcome": "new",
                    "alert": "datadog:abc",
                    "incident": "INC-1",
                },
            ),
            alerts,
        ),
    }
    total = 0.0
    for name, (step, items) in steps.items():
        cost = best(step, items, n)
        if name == "parse (source)":  # without the decoding, measured on its own above
            cost -= best(lambda row: webhooks._decode("x", row[2]), rows, n)
        total += cost
        print(f"{name:28} {cost:7.1f} µs")
    print(f"{'sum':28} {total:7.1f} µs  ({len(rows)} requests, {len(alerts)} alerts)")


if __name__ == "__main__":
    main()
