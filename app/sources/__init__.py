"""Webhook sources: one module per sender, each with the same shape (sentry-python's
integrations): `verify(headers, body, query)` on the raw bytes, then `parse(headers, payload,
body) -> Parsed`. Sources translate; they do not classify, store, log or call out.

Replays (docs/security.md): each source declares `delivery_identity`, what names one delivery,
taken from what its signature covers, so a captured request sent again with new unsigned
headers is still a redelivery; and `signed_timestamp(headers)`, the send time it signs (or
at least sends), which webhooks.py refuses outside KLAXON_WEBHOOK_CLOCK_SKEW of the app clock.

To add a source: one new module, one line in `build_sources`, fixtures in tests/data/webhooks/,
and the contract tests in tests/test_sources_contract.py pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from app.models import Alert, SourceName
from app.settings import Settings


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one webhook delivery said: the alert events in it, or why it is ignored."""

    event_type: str
    delivery_id: str
    alerts: list[Alert] = field(default_factory=list)
    ignored_reason: str = ""
    # When the sender says this event happened, inside the signed body; a retry repeats it.
    # An event older than the redelivery window (KLAXON_DELIVERY_TTL) is not taken as new just
    # because its delivery id was forgotten. None: the source has no such time.
    event_at: float | None = None


@dataclass(frozen=True, slots=True)
class SignedTimestamp:
    """The send time a request carries: `header` names it, `at` is epoch seconds."""

    header: str
    at: float


class Source(Protocol):
    name: ClassVar[SourceName]
    delivery_identity: ClassVar[str]  # what names one delivery, and why it cannot be forged

    def verify(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        """Raise Unauthorized unless the request is signed or carries the shared token."""
        ...

    def parse(self, headers: Mapping[str, str], payload: Any, body: bytes) -> Parsed:
        """Translate a verified payload; raise PayloadError naming the bad field."""
        ...

    def signed_timestamp(self, headers: Mapping[str, str]) -> SignedTimestamp | None:
        """The send time of a verified request, or None when the source sends none; raise
        Unauthorized when one is expected but missing or not a time."""
        ...


def build_sources(settings: Settings) -> dict[str, Source]:
    from app.sources import alertmanager, datadog, grafana, opsgenie, pagerduty, sentry

    sources: list[Source] = [
        pagerduty.PagerDutySource(settings.pagerduty_webhook_secrets, settings.insecure_dev),
        sentry.SentrySource(
            settings.sentry_client_secret,
            settings.insecure_dev,
            settings.sentry_legacy_webhook_token,
        ),
        opsgenie.OpsgenieSource(settings.opsgenie_webhook_token, settings.insecure_dev),
        datadog.DatadogSource(settings.datadog_webhook_token, settings.insecure_dev),
        alertmanager.AlertmanagerSource(settings.alertmanager_webhook_token, settings.insecure_dev),
        grafana.GrafanaSource(
            settings.grafana_webhook_secret,
            settings.grafana_signature_header,
            settings.grafana_timestamp_header,
            settings.insecure_dev,
        ),
    ]
    return {source.name.value: source for source in sources}
