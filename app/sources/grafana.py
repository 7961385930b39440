"""Grafana-managed alerting webhook contact point, version 1 (reference/webhooks.md §6).

Optionally HMAC-signed: hex HMAC-SHA256 of the body, or of "<timestamp>:<body>" when the
contact point names a timestamp header. Grafana's docs and its code disagree on the default
signature header name, so both header names are configurable.

A delivery is named from the signed body (groupKey, fingerprint, status, startsAt, endsAt: one
firing/resolved cycle of one alert), and startsAt/endsAt order one alert's events. With a
timestamp header the send time is signed too, and refused outside KLAXON_WEBHOOK_CLOCK_SKEW.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from app.models import SourceName
from app.sources import Parsed, SignedTimestamp
from app.sources._alertgroup import parse_alert_group
from app.sources._fields import Fields
from app.sources._signing import require_configured, unix_seconds, verify_hmac


class GrafanaSource:
    name: ClassVar[SourceName] = SourceName.GRAFANA
    delivery_identity: ClassVar[str] = "groupKey, fingerprint, status, startsAt, endsAt (signed)"

    def __init__(
        self,
        secret: str,
        signature_header: str,
        timestamp_header: str = "",
        insecure_dev: bool = False,
    ) -> None:
        self._secret = secret
        self._signature_header = signature_header
        self._timestamp_header = timestamp_header
        self._insecure_dev = insecure_dev

    def verify(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        if not require_configured(
            self.name, "GRAFANA_WEBHOOK_SECRET", bool(self._secret), self._insecure_dev
        ):
            return
        message = body
        if self._timestamp_header:
            timestamp = headers.get(self._timestamp_header, "").strip()
            unix_seconds(self.name, self._timestamp_header, timestamp)  # raises when not a time
            message = timestamp.encode() + b":" + body
        verify_hmac(
            self.name,
            self._signature_header,
            [headers.get(self._signature_header, "")],
            [self._secret],
            message,
        )

    def parse(self, headers: Mapping[str, str], payload: Any, body: bytes) -> Parsed:
        return parse_alert_group(self.name, Fields(self.name, payload))

    def signed_timestamp(self, headers: Mapping[str, str]) -> SignedTimestamp | None:
        if not self._timestamp_header or not self._secret:
            return None  # nothing signs a send time: the body's own times order events
        header = self._timestamp_header
        return SignedTimestamp(header, unix_seconds(self.name, header, headers.get(header, "")))
