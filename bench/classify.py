"""Benchmark (not a test): classification cost per alert with 1,000 and 10,000 rules.

    python bench/classify.py [--alerts 20000]

Builds synthetic rules like the examples (service/environment equality, a regex on the title,
a numeric threshold, every 10th route `continue: true`, inhibit rules and silences), loads
them through the real loader (then gc.freeze(), as a server would after start-up), then
times classify() per alert on one core and prints the median and p99 in microseconds and the
10x-growth ratio."""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.models import Alert, Lifecycle, SourceName
from app.ruleset import RuleSet, classify, load_ruleset

TEAMS = ("checkout", "payments", "search", "data-pipeline", "marketing-site")


def rules_yaml(count: int) -> str:
    lines = ["teams:"] + [f"  {t}: {{}}" for t in TEAMS] + ["routes:"]
    for i in range(count):
        team = TEAMS[i % len(TEAMS)]
        match = f"service: svc-{i // 2}, environment: {('prod', 'staging')[i % 2]}"
        extra = ""
        if i % 3 == 0:
            extra = ", tags.p99_ms: {gt: 1500}"
        elif i % 3 == 1:
            extra = ', title: {regex: "(?i)latency|timeout"}'
        cont = ", continue: true, group_wait: 1m" if i % 10 == 0 else ""
        lines.append(f"  - {{name: r{i}, match: {{{match}{extra}}}, team: {team}{cont}}}")
    lines.append("  - {name: catch-all, team: checkout}")
    lines += [
        "inhibit_rules:",
        "  - {name: outage, source_match: {severity: SEV1}, "
        "target_match: {severity: [SEV3, SEV4]}, equal: [service]}",
        "silences:",
        "  - {name: nightly, kind: maintenance, match: {service: svc-7}, recurring: "
        "{timezone: Europe/Berlin, start: '02:00', end: '03:00'}}",
    ]
    return "\n".join(lines) + "\n"


def synthetic_alerts(count: int, services: int, seed: int = 7) -> list[Alert]:
    rng = random.Random(seed)
    return [
        Alert(
            source=SourceName.DATADOG,
            lifecycle=Lifecycle.TRIGGER,
            identity=f"m{i}",
            delivery_id=f"d{i}",
            event_type="Triggered",
            title=rng.choice(["p99 latency high", "error rate", "disk full"]),
            service=f"svc-{rng.randrange(int(services * 1.2))}",  # some match nothing
            environment=rng.choice(["prod", "staging"]),
            host=f"web-{i % 9}",
            source_severity=rng.choice(["P1", "P2", "P3", "P4"]),
            tags={"p99_ms": str(rng.randrange(3000)), "monitor_id": str(i)},
        )
        for i in range(count)
    ]


def load(count: int) -> tuple[RuleSet, float]:
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "rules.yml").write_text(rules_yaml(count))
        started = time.perf_counter()
        ruleset = load_ruleset(directory)
        elapsed = time.perf_counter() - started
    # What a long-running process should do after loading rules: move them out of the
    # collector's way, so full collections do not rescan 10,000 routes (the p99 tail).
    gc.collect()
    gc.freeze()
    return ruleset, elapsed


def measure(ruleset: RuleSet, alerts: list[Alert], now: float) -> list[float]:
    for alert in alerts[:2000]:  # warm up caches and the memo of layered settings
        classify(alert, ruleset, now)
    timings = []
    clock = time.perf_counter_ns
    for alert in alerts:
        started = clock()
        classify(alert, ruleset, now)
        timings.append((clock() - started) / 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=20_000)
    args = parser.parse_args()
    now = 1_773_479_643.0
    medians = {}
    for count in (1_000, 10_000):
        ruleset, load_s = load(count)
        timings = measure(ruleset, synthetic_alerts(args.alerts, count // 2), now)
        medians[count] = statistics.median(timings)
        p99 = statistics.quantiles(timings, n=100)[98]
        print(
            f"{count:>6} rules: load {load_s * 1000:7.0f} ms, classify median "
            f"{medians[count]:5.1f} us, p99 {p99:5.1f} us ({len(timings)} alerts)"
        )
    print(f"10x rules -> {medians[10_000] / medians[1_000]:.2f}x median cost")


if __name__ == "__main__":
    main()
