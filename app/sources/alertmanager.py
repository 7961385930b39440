"""Prometheus Alertmanager `webhook_config`, version 4 (reference/webhooks.md §5).

Unsigned: authenticated by `http_config.authorization` (Bearer), Basic auth or a custom
`X-Klaxon-Token` header. One delivery carries a group; each alert is keyed by its fingerprint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from app.models import SourceName
from app.sources import Parsed, SignedTimestamp
from app.sources._alertgroup import parse_alert_group
from app.sources._fields import Fields
from app.sources._signing import presented_tokens, require_configured, verify_token


class AlertmanagerSource:
    name: ClassVar[SourceName] = SourceName.ALERTMANAGER
    # Not signed: whoever holds the token can send anything, so a replay is no stronger than a
    # forgery. The key names one firing/resolved cycle of one alert, so repeats are duplicates.
    delivery_identity: ClassVar[str] = "groupKey, fingerprint, status, startsAt, endsAt"

    def __init__(self, token: str, insecure_dev: bool = False) -> None:
        self._token = token
        self._insecure_dev = insecure_dev

    def verify(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        if require_configured(
            self.name, "ALERTMANAGER_WEBHOOK_TOKEN", bool(self._token), self._insecure_dev
        ):
            verify_token(self.name, self._token, presented_tokens(headers))

    def parse(self, headers: Mapping[str, str], payload: Any, body: bytes) -> Parsed:
        return parse_alert_group(self.name, Fields(self.name, payload))

    def signed_timestamp(self, headers: Mapping[str, str]) -> SignedTimestamp | None:
        return None  # token-authenticated: nothing is signed, no send time is sent
