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
    yield (
        f"rules: ok ({settings.rules_dir}, {len(ruleset.rules)} routes, version {ruleset.version})"
    )
    if not settings.redis_url:
        yield "warning: REDIS_URL is not set"
    if settings.environment.get("DYNO") and not settings.trusted_proxies:
        # app.json sets 1, but only for apps it creates: not `heroku create`, nor older apps.
        yield (
            "warning: KLAXON_TRUSTED_PROXIES is 0 on Heroku: every request seems to come "
            "from the router, so ten wrong API tokens from anyone pause sign-in for "
            "everyone (heroku config:set KLAXON_TRUSTED_PROXIES=1)"
        )
