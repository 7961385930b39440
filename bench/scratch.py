"""The Redis database a benchmark works in: it is flushed, so never one a test session holds
(tests/conftest.py claims an empty database among 9-15 by writing OWNER_KEY)."""

from __future__ import annotations

import redis

from tests.conftest import OWNER_KEY as TESTS_CLAIM


def scratch_database(url: str) -> redis.Redis:
    database = redis.Redis.from_url(url)
    if database.exists(TESTS_CLAIM):
        raise SystemExit(f"{url} is claimed by a test session; pick another database")
    return database
