"""Klaxon's own errors to Sentry (Flask and RQ) when SENTRY_DSN is set.

Webhook bodies, signatures, tokens and routing keys never leave: request bodies are not sent,
local variables are off, sensitive headers are dropped, and every string in an event is
scrubbed of the configured secrets before it is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sentry_sdk
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.integrations.rq import RqIntegration

from app.settings import Settings

if TYPE_CHECKING:
    from sentry_sdk.types import Event

SENSITIVE_HEADERS = {
    "authorization",
    "cookie",
    "x-klaxon-token",
    "x-pagerduty-signature",
    "sentry-hook-signature",
    "x-grafana-alerting-signature",
    "x-grafana-alert-signature",
    "x-api-key",
}
SENSITIVE_KEYS = (
    "routing_key",
    "secret",
    "token",
    "signature",
    "password",
    "api_key",
    "authorization",
    "genie",
    "dsn",
)
FILTERED = "[Filtered]"


def init_sentry(settings: Settings, transport: Any = None) -> bool:
    """Initialise sentry-sdk; returns False (and does nothing) without a DSN."""
    if not settings.sentry_dsn:
        return False
    remember_secrets(settings.secret_values())
    secrets = _SECRETS
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment or None,
        # Errors are captured where they are handled (app/http_errors.py) and by the RQ
        # integration; log lines stay breadcrumbs so one failure is one event.
        integrations=[FlaskIntegration(), RqIntegration(), LoggingIntegration(event_level=None)],
        include_local_variables=False,
        max_request_body_size="never",
        before_send=lambda event, hint: scrub_event(event, secrets),
        before_send_transaction=lambda event, hint: scrub_event(event, secrets),
        transport=transport,
    )
    return True


_SECRETS: list[str] = []  # grows when the rules load (the routing keys they name)


def remember_secrets(values: list[str]) -> None:
    """Scrub these values too, longest first, from every event sent from now on."""
    _SECRETS[:] = sorted(set(_SECRETS) | {v for v in values if v}, key=len, reverse=True)


def scrub_event(event: Event, secrets: list[str]) -> Event:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request["query_string"] = ""
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                k: v for k, v in headers.items() if k.lower() not in SENSITIVE_HEADERS
            }
    scrubbed: Event = _scrub(event, secrets)  # the same keys, with scrubbed values
    return scrubbed


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, FILTERED)
        return value
    if isinstance(value, dict):
        return {
            k: FILTERED if _sensitive_key(k) and isinstance(v, str) else _scrub(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub(v, secrets) for v in value)
    return value


def _sensitive_key(key: Any) -> bool:
    return isinstance(key, str) and any(word in key.lower() for word in SENSITIVE_KEYS)
