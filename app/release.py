"""What the Heroku release phase checks before a new release may serve traffic: a failure
here keeps the previous release running (reference/apis.md §6)."""

from __future__ import annotations

from collections.abc import Iterator

from app.ruleset import load_ruleset
from app.settings import Settings


def check_release() -> Iterator[str]:
    """Yield what was checked; raise ConfigError or RulesError on the first failed check."""
    settings = Settings.from_env()  # raises ConfigError listing every bad variable
    yield "configuration: ok"
    ruleset = load_ruleset(settings.rules_dir)  # raises RulesError listing every problem
    yield (f"rules: ok ({settings.rules_dir}, {len(ruleset.rules)} routes, "
           f"version {ruleset.version})")
    if not settings.redis_url:
        yield "warning: REDIS_URL is not set"
