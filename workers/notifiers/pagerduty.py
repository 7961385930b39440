"""Send one PagerDuty Events API v2 event (apis.md §1) through the `pagerduty` package.

The package retries on its own (429 without limit, 5xx up to six times, network errors three
times, 60 s timeout); every client built here is trimmed to exactly one HTTP attempt so retry
stays in workers/jobs.py. Clients are kept for the life of the worker process (one per
routing key, all of a destination's sharing one keep-alive connection pool).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx2
import pagerduty

from workers.notifiers import (
    Channel,
    DeliveryError,
    FailureReason,
    OutboundMessage,
    Receipt,
)
from workers.notifiers._http import (
    DEFAULT_TIMEOUT,
    KEEPALIVE_SECONDS,
    Timeout,
    per_process,
    status_error,
    transport_error,
)

CHANNEL = Channel.PAGERDUTY
DEFAULT_EVENTS_URL = "https://events.pagerduty.com"  # must be https: the client refuses http
RETRYABLE_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True, slots=True)
class PagerDutyCredentials:
    """Routing keys by environment-variable name (`PD_ROUTING_KEY_CHECKOUT` -> key), plus where
    and how to connect. `ca_file` trusts an extra CA (a TLS-inspecting proxy, or tests)."""

    routing_keys: Mapping[str, str] = field(repr=False)
    events_url: str = DEFAULT_EVENTS_URL
    timeout: Timeout = DEFAULT_TIMEOUT
    ca_file: Path | None = None

    @classmethod
    def from_outbound(
        cls, outbound: Mapping[str, str], routing_keys: Mapping[str, str]
    ) -> PagerDutyCredentials:
        """From Settings.outbound (PAGERDUTY_EVENTS_URL) and the routing keys the rules name."""
        return cls(dict(routing_keys), outbound.get("PAGERDUTY_EVENTS_URL") or DEFAULT_EVENTS_URL)

    def secrets(self) -> tuple[str, ...]:
        return tuple(self.routing_keys.values())


def send(message: OutboundMessage, credentials: PagerDutyCredentials) -> Receipt:
    """Send the event once; the receipt's vendor_id is PagerDuty's dedup_key.

    Raises:
        DeliveryError: the event was not accepted; `retryable` says whether to try again.
    """
    event = _event(message, credentials)
    action = event.pop("event_action")
    dedup_key = event.pop("dedup_key", None)
    client = _client(event.pop("routing_key"), credentials)
    try:
        dedup_key = client.send_event(action, dedup_key=dedup_key, **event)
    except pagerduty.Error as exc:
        error = _delivery_error(exc, credentials)
        if exc.response is not None:  # its text may quote the vendor's body unredacted
            raise error from None
        raise error from exc
    return Receipt(CHANNEL, vendor_id=dedup_key, detail={"event_action": action})


def _event(message: OutboundMessage, credentials: PagerDutyCredentials) -> dict[str, Any]:
    """The Events v2 body with the real routing key and an explicit payload timestamp; the
    message itself is left as it was (only top-level keys and the payload are replaced, and
    the package deep-copies what it sends)."""
    event = dict(message.body)
    event.setdefault("event_action", message.action)
    event["routing_key"] = _routing_key(str(event.get("routing_key", "")), credentials)
    if event["event_action"] == "trigger":
        payload = event["payload"] = dict(event.get("payload") or {})
        # pagerduty 7.2's own timestamp helper is broken (apis.md §1.3); PagerDuty would stamp
        # the arrival time, which drifts from the alert's time after queueing and retries.
        payload.setdefault("timestamp", datetime.now(UTC).isoformat())
    return event


def warm_up(credentials: PagerDutyCredentials) -> None:
    """Build every routing key's client now (no connection is made): the HTTP stack's modules
    load on first use, which the first page of a worker process would otherwise wait for."""
    for key in credentials.routing_keys.values():
        _client(key, credentials)


def _routing_key(placeholder: str, credentials: PagerDutyCredentials) -> str:
    """Resolve "$PD_ROUTING_KEY_X"; a literal key in the body would end up in the ledger."""
    name = placeholder.removeprefix("$")
    if not placeholder.startswith("$") or not name:
        raise DeliveryError(
            CHANNEL,
            FailureReason.CLIENT_ERROR,
            "body.routing_key must name an environment variable ($NAME)",
        )
    key = credentials.routing_keys.get(name)
    if not key:
        raise DeliveryError(
            CHANNEL,
            FailureReason.AUTH,
            f"routing key {name} is not configured; set the environment "
            "variable named in rules/teams.yml",
        )
    return key


@lru_cache(maxsize=4)
def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Built once per process (loading the CA bundle costs tens of ms per send otherwise);
    `ca_file` trusts one more CA, verification always stays on."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def _client(routing_key: str, credentials: PagerDutyCredentials) -> pagerduty.EventsApiV2Client:
    """The process's Events client for this routing key and destination."""
    if not credentials.events_url.startswith("https://"):  # the package raises UrlError
        raise DeliveryError(
            CHANNEL, FailureReason.CLIENT_ERROR, "PAGERDUTY_EVENTS_URL must start with https://"
        )
    return _keyed_client(
        routing_key, credentials.events_url, credentials.ca_file, credentials.timeout
    )


@per_process(maxsize=256)  # holds no connection itself: the transport below does
def _keyed_client(
    routing_key: str, events_url: str, ca_file: Path | None, timeout: Timeout
) -> pagerduty.EventsApiV2Client:
    """An Events client that makes exactly one HTTP attempt per call.

    The package puts its client's routing key into every body it sends, so each key gets a
    client of its own (a key never travels with another key's client); the clients of one
    destination share one connection pool, so a page reuses a kept-alive TLS connection
    whichever service it is for."""
    tls = _tls_context(ca_file)
    client = pagerduty.EventsApiV2Client(
        routing_key, base_url=events_url, verify=tls, transport=_transport(events_url, ca_file)
    )
    connect, read = timeout
    # ApiClient.request passes `timeout=self.timeout` on every request (default 60 s). The
    # package declares it a float; httpx, which receives it, also takes a Timeout (connect and
    # read apart), which the float cannot say.
    client.timeout = httpx2.Timeout(read, connect=connect)  # type: ignore[assignment]
    # A status missing from `retry` (or mapped to 0) means "default", and the default for 429
    # is to retry forever. A non-zero entry is retried until `attempts > max_http_attempts`;
    # with max_http_attempts = -1 that holds before the first retry, so the first response
    # comes back as it is.
    client.retry = dict.fromkeys(RETRYABLE_STATUSES, 1)
    client.max_http_attempts = -1
    # Network errors are retried while `attempts > max_network_attempts` is false: 0 means
    # the first failure raises pagerduty.Error.
    client.max_network_attempts = 0
    client.sleep_timer = 0
    return client


@per_process(maxsize=4, close=httpx2.HTTPTransport.close)
def _transport(events_url: str, ca_file: Path | None) -> httpx2.HTTPTransport:
    """One connection pool per Events API destination (URL and trusted CA) in this process.
    No transport-level retries: one attempt per call, as above."""
    return httpx2.HTTPTransport(
        verify=_tls_context(ca_file),
        retries=0,
        limits=httpx2.Limits(
            max_connections=None, max_keepalive_connections=4, keepalive_expiry=KEEPALIVE_SECONDS
        ),
    )


def _delivery_error(exc: pagerduty.Error, credentials: PagerDutyCredentials) -> DeliveryError:
    response = exc.response
    if response is None:  # no answer: the httpx2 error is the cause
        cause = exc.__cause__ or exc
        return transport_error(
            CHANNEL,
            cause,
            timed_out=isinstance(cause, httpx2.TimeoutException),
            secrets=credentials.secrets(),
        )
    error = status_error(
        CHANNEL,
        response.status_code,
        response.headers,
        _text(response),
        secrets=credentials.secrets(),
    )
    if error is None:  # a 2xx the package rejected: no dedup_key in the body
        return DeliveryError(
            CHANNEL,
            FailureReason.SERVER_ERROR,
            "PagerDuty accepted the event but its answer had no dedup_key",
            status=response.status_code,
        )
    return error


def _text(response: httpx2.Response) -> str:
    try:
        return response.text
    except httpx2.HTTPError:
        return ""
