"""What the jobs of one worker process share, assembled once: settings, one Redis connection,
the rules, the stores, and every channel's credentials.

`python -m workers` builds it before it forks and installs it (workers/jobs.py `install`); a
job run any other way (a test's in-process worker, `klaxon run`, the benchmarks) builds it
from the environment on its first call.
"""

from __future__ import annotations

from typing import Any

import redis

from app.clock import Clock, SystemClock
from app.ruleset import RuleSet, load_ruleset
from app.settings import Settings
from app.store.connection import connect
from app.store.incidents import IncidentStore
from app.store.ledger import Ledger
from app.store.outbox import Outbox
from app.store.ratelimit import RateLimiter
from workers.channels import CHANNELS, Channel


class Runtime:
    """What jobs share in one worker process: built once, from the environment."""

    def __init__(
        self,
        settings: Settings,
        connection: redis.Redis,
        ruleset: RuleSet,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.redis = connection
        self.clock = clock or SystemClock()
        self.ruleset = ruleset
        self.incidents = IncidentStore(
            connection, self.clock, settings.delivery_ttl_seconds, settings.storage
        )
        self.ledger = Ledger(connection, self.clock, settings.storage.retention_seconds)
        self.outbox = Outbox(connection, self.clock, settings.storage.outbox_max)
        self.limiter = RateLimiter(connection, self.clock)
        self.credentials = channel_credentials(settings, ruleset)

    @classmethod
    def from_env(cls, settings: Settings | None = None, ruleset: RuleSet | None = None) -> Runtime:
        settings = settings or Settings.from_env()
        return cls(
            settings,
            connect(settings.redis_connection_url),
            ruleset or load_ruleset(settings.rules_dir),
        )

    def warm_up(self) -> None:
        warm_up_channels(self.credentials)


def channel_credentials(settings: Settings, ruleset: RuleSet) -> dict[Channel, Any | None]:
    """Every channel's credentials, resolved once per process (jobs share them), not one pass
    over the rules' variables per message; None for a channel that is not configured (its
    messages go to the outbox)."""
    return {name: channel.credentials(settings, ruleset) for name, channel in CHANNELS.items()}


def warm_up_channels(credentials: dict[Channel, Any | None]) -> None:
    """Build every configured channel's clients once, without connecting: the vendors' HTTP
    stacks load modules on first use (httpcore, h11, truststore: ~50 ms), which the first
    page of every worker process waited for. Before `python -m workers` forks, so the modules
    are loaded once; each process then builds its own clients (and connections) on its first
    call (channels/_http.per_process)."""
    for name, channel in CHANNELS.items():
        if credentials.get(name) is not None:
            channel.warm_up(credentials[name])
