"""CPU the request metrics add to one webhook: RequestMetrics.observe() (what
app/logs.log_request() calls for every request) in prometheus-client's multiprocess mode,
timed with time.process_time over many calls. Compare with bench/inprocess.py's µs/request.

    PYTHONPATH=. python -m bench.metrics --calls 200000
"""

from __future__ import annotations

import argparse
import tempfile
import time

from app import metrics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        counted = metrics.configure(directory, frozenset({"datadog"}))
        accepted = {"source": "datadog", "outcome": "new", "event": "Triggered"}
        refused = {"source": "datadog", "error": "unauthorized"}
        for fields, status, label in ((accepted, 202, "accepted"), (refused, 401, "refused")):
            for _ in range(1000):  # the label children and files exist after the first calls
                counted.observe("/webhooks/datadog", status, 0.001, fields)
            started = time.process_time()
            for _ in range(args.calls):
                counted.observe("/webhooks/datadog", status, 0.001, fields)
            spent = time.process_time() - started
            print(f"{label}: {spent / args.calls * 1e6:.1f} µs of CPU per request")


if __name__ == "__main__":
    main()
