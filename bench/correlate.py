"""Dedup + grouping cost: one alert event through IncidentStore.correlate (the rules'
decision applied by correlate.lua) against a real Redis.

Reports client CPU µs per event, Redis CPU µs per event (the EVALSHA line of INFO
commandstats, which includes the commands the script runs; other clients' scripts on the same
server are counted too, so run it on a quiet Redis), and the round trips the client made per
event, counted on the connection: it must be exactly one EVALSHA, because dedup, the alert's
state change and the grouping decision are one atomic script.

    PYTHONPATH=. python -m bench.correlate --events 20000 --redis redis://127.0.0.1:6379/12
"""

from __future__ import annotations

import argparse
import time
from itertools import count

from redis.connection import Connection

from app.clock import SystemClock
from app.models import Alert, Lifecycle, SourceName
from app.pipeline import decision_for_store
from app.ruleset import classify, load_ruleset
from app.store.connection import connect
from app.store.incidents import IncidentStore

_ids = count()


def make_alerts(n: int, hosts: int, repeat_every: int) -> list[Alert]:
    """New alerts over `hosts` groups, with every `repeat_every`-th a repeat (duplicate)."""
    alerts = []
    for i in range(n):
        host = i % hosts if i % repeat_every else max(i - 1, 0) % hosts
        alerts.append(
            Alert(
                source=SourceName.DATADOG,
                lifecycle=Lifecycle.TRIGGER,
                identity=f"184663201|host:web-{host}",
                delivery_id=f"bench-{next(_ids)}",
                event_type="Triggered",
                title="[prod] checkout-api p99 latency high",
                service="checkout-api",
                environment="prod",
                host=f"web-{host}",
                source_severity="P2",
                tags={"monitor_id": "184663201", "team": "checkout"},
            )
        )
    return alerts


class CountingConnection(Connection):
    """Counts the commands this client sends: one per round trip here (no pipelining).
    Counted where every command passes, redis-py's client and app/store/lua.py alike."""

    sent: list[str] = []

    def send_packed_command(self, command, check_health=True):
        first = command if isinstance(command, bytes) else command[0]
        CountingConnection.sent.append(first.split(b"\r\n", 3)[2].decode())  # *N, $len, NAME
        return super().send_packed_command(command, check_health)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--rules", default="rules")
    args = parser.parse_args()

    connection = connect(args.redis, connection_class=CountingConnection)
    connection.flushdb()
    ruleset = load_ruleset(args.rules)
    store = IncidentStore(connection, SystemClock(), 3600)
    now = time.time()
    alerts = make_alerts(args.events, hosts=200, repeat_every=4)
    decisions = [(a, decision_for_store(a, classify(a, ruleset, now), ruleset)) for a in alerts]
    store.correlate(*decisions[0], b"{}")  # load the script once
    connection.config_resetstat()
    CountingConnection.sent.clear()

    started = time.process_time()
    for alert, decision in decisions[1:]:
        store.correlate(alert, decision, b'{"bench": true}')
    client_us = (time.process_time() - started) / (len(decisions) - 1) * 1e6

    sent = list(CountingConnection.sent)
    evalsha = connection.info("commandstats").get("cmdstat_evalsha", {"usec": 0})
    events = len(decisions) - 1
    print(f"events: {events}")
    print(f"round trips per event: {len(sent) / events:.3f} ({', '.join(sorted(set(sent)))})")
    redis_us = evalsha["usec"]
    print(f"client CPU per event: {client_us:.0f} µs (classify excluded)")
    print(f"redis CPU per event: {redis_us / events:.0f} µs")
    connection.flushdb()


if __name__ == "__main__":
    main()
