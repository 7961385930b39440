"""What one Redis round trip costs the calling process on this machine: a PING sent on one
socket and its reply read, (a) blocking in recv(), as every Redis client does, and (b) spinning
on a non-blocking recv() until the reply is there. The difference is the price of putting a
thread to sleep and waking it when the reply arrives, which every synchronous write before a
2xx pays at least once (docs/benchmarks.md, "The floor").

    PYTHONPATH=. python -m bench.roundtrip --redis-url redis://127.0.0.1:6379/5
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlsplit

PING = b"*1\r\n$4\r\nPING\r\n"


def blocking(sock: socket.socket) -> None:
    sock.sendall(PING)
    sock.recv(64)


def spinning(sock: socket.socket) -> None:
    sock.sendall(PING)
    while True:
        try:
            if sock.recv(64, socket.MSG_DONTWAIT):
                return
        except BlockingIOError:
            pass


def measure(
    call: Callable[[socket.socket], None], sock: socket.socket, n: int
) -> tuple[float, float]:
    """CPU µs and wall µs per round trip."""
    for _ in range(n // 10):
        call(sock)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        call(sock)
    return ((time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = urlsplit(args.redis_url)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    results: dict[str, list[tuple[float, float]]] = {"blocking": [], "spinning": []}
    for _ in range(args.rounds):  # alternate, so a change in machine load hits both
        results["blocking"].append(measure(blocking, sock, args.calls))
        results["spinning"].append(measure(spinning, sock, args.calls))
    print(
        f"{'':10}{'CPU µs/round trip':>20}{'wall µs/round trip':>20}   (median of "
        f"{args.rounds} x {args.calls})"
    )
    for name, runs in results.items():
        print(
            f"{name:10}{statistics.median(c for c, _ in runs):>20.1f}"
            f"{statistics.median(w for _, w in runs):>20.1f}"
        )


if __name__ == "__main__":
    main()
