"""StorageBudget: the knobs that bound what Klaxon keeps in Redis (docs/decisions.md 13), read
from the environment by app/settings.py and handed to the stores that write."""

from __future__ import annotations

from dataclasses import dataclass

DAY = 24 * 3600
DEFAULT_DELIVERY_TTL_SECONDS = 3 * DAY  # PagerDuty retries for up to 48 h, the longest sender
DEFAULT_RETENTION_DAYS = 90
DEFAULT_WEBHOOK_LOG_MAX = 10_000  # ~2 MB of compact entries
DEFAULT_ALERT_EVENTS_MAX = 20  # state changes kept per alert
DEFAULT_RAW_SAMPLE_BYTES = 4096  # of each kept raw body
DEFAULT_OUTBOX_MAX = 10_000
# An incident's timeline: a storm of 5,000 grouped alerts still fits; ~200 bytes an entry.
DEFAULT_TIMELINE_MAX = 5000
DEFAULT_MAINTENANCE_LOG_MAX = 1000  # maintenance windows turned on and off
DEFAULT_MEMORY_WARN_PERCENT = 80  # of maxmemory


@dataclass(frozen=True, slots=True)
class StorageBudget:
    """KLAXON_DELIVERY_TTL stays Settings.delivery_ttl_seconds (IncidentStore takes it)."""

    retention_days: int = DEFAULT_RETENTION_DAYS
    webhook_log_max: int = DEFAULT_WEBHOOK_LOG_MAX
    alert_events_max: int = DEFAULT_ALERT_EVENTS_MAX
    raw_sample_bytes: int = DEFAULT_RAW_SAMPLE_BYTES
    outbox_max: int = DEFAULT_OUTBOX_MAX
    timeline_max: int = DEFAULT_TIMELINE_MAX
    maintenance_log_max: int = DEFAULT_MAINTENANCE_LOG_MAX
    memory_warn_percent: int = DEFAULT_MEMORY_WARN_PERCENT

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * DAY
