"""Job functions the worker tests enqueue by dotted path (RQ imports jobs by name)."""

from __future__ import annotations


def fail_with_secret(secret: str) -> None:
    raise RuntimeError(f"vendor refused routing_key={secret}")


def add(a: int, b: int) -> int:
    return a + b
