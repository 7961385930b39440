"""The one clock every timestamp and timer in Klaxon reads (design.md: tests drive hours of
incident in milliseconds by advancing a virtual clock instead of sleeping)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class VirtualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 1_773_478_800.0) -> None:  # 2026-03-14 09:00 UTC
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        self._now += seconds
        return self._now

    def set(self, epoch_seconds: float) -> None:
        self._now = epoch_seconds
