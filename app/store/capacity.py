"""How full Redis is: used memory against maxmemory, for the worker's warning log line
(workers/ticker.py) and a /metrics gauge. Redis without maxmemory (a laptop) reports 0."""

from __future__ import annotations

from dataclasses import dataclass

import redis


@dataclass(frozen=True, slots=True)
class Memory:
    used_bytes: int
    max_bytes: int  # 0: no limit configured

    @property
    def used_share(self) -> float | None:
        """used / maxmemory, or None when Redis has no maxmemory."""
        return self.used_bytes / self.max_bytes if self.max_bytes else None

    def above(self, percent: int) -> bool:
        share = self.used_share
        return share is not None and share * 100 >= percent


def memory(connection: redis.Redis) -> Memory:
    info = connection.info("memory")
    return Memory(int(info.get("used_memory", 0)), int(info.get("maxmemory", 0)))
