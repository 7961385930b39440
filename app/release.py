"""What the Heroku release phase checks before a new release may serve traffic: a failure
here keeps the previous release running (reference/apis.md §6)."""

from __future__ import annotations

from collections.abc import Iterator

from app.settings import Settings


def check_release() -> Iterator[str]:
    settings = Settings.from_env()  # raises ConfigError listing every bad variable
    yield "configuration: ok"
    if not settings.redis_url:
        yield "warning: REDIS_URL is not set"
