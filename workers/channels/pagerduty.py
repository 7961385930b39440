"""Send one PagerDuty Events API v2 event (apis.md §1) through the `pagerduty` package.

The package retries on its own (429 without limit, 5xx up to six times, network errors three
times, 60 s timeout); every client built here is trimmed to exactly one HTTP attempt so retry
stays in workers/delivery.py. Clients are kept for the life of the worker process (one per
routing key, all of a destination's sharing one keep-alive connection pool).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
import pagerduty

if TYPE_CHECKING:
    from app.messages.render import Rendered

from app.messages import limits
from app.messages.context import MessageEvent, NotificationContext
from app.ruleset import RuleSet
from app.ruleset.model import Team
from app.settings import Settings
from workers.channels._http import (
    DEFAULT_TIMEOUT,
    KEEPALIVE_SECONDS,
    Timeout,
    per_process,
    status_error,
    transport_error,
)
from workers.channels.base import (
    BaseNotifier,
    Channel,
    DeliveryError,
    FailureReason,
    Field,
    Occasion,
    OutboundMessage,
    RateLimit,
    Receipt,
    new_message,
)

CHANNEL = Channel.PAGERDUTY
DEFAULT_EVENTS_URL = "https://events.pagerduty.com"  # must be https: the client refuses http
RETRYABLE_STATUSES = (429, 500, 502, 503, 504)
E = MessageEvent
PD_SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}
PAGING_EVENTS = {E.DECLARED, E.SEVERITY_RAISED, E.ESCALATED, E.REMINDER}
MAX_CHANGES_IN_DETAILS = 3  # the newest suspects; the incident page lists every one


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


class PagerDuty(BaseNotifier):
    """Pages the team's PagerDuty service (its routing key, named in rules/teams.yml) for every
    severity the policy pages; acknowledges and resolves that page."""

    name = CHANNEL
    fields = (Field("summary", "txt", limits.PAGERDUTY_SUMMARY_MAX, limits.truncate),)
    # Acknowledge/resolve events carry only the dedup_key, and status updates go to the public
    # channels and Opsgenie notes, never to a pager.
    silent = frozenset({E.UPDATE_POSTED, E.ACKNOWLEDGED, E.RESOLVED})
    rate_limit = RateLimit(0.5, 10)  # 120 events a minute per routing key, small bursts
    state_fields = ("pagerduty_open", "pagerduty_reminders_open")

    def credentials(self, settings: Settings, ruleset: RuleSet) -> PagerDutyCredentials | None:
        """The routing keys the rules name and the environment sets (None: there are none)."""
        keys = {
            name: settings.environment[name]
            for name in ruleset.environment
            if settings.environment.get(name)
        }
        if not keys:
            return None
        credentials = PagerDutyCredentials.from_outbound(settings.outbound, keys)
        ca_file = settings.outbound.get("PAGERDUTY_CA_FILE")
        return replace(credentials, ca_file=Path(ca_file)) if ca_file else credentials

    def credentials_for(
        self, credentials: PagerDutyCredentials | None, message: OutboundMessage
    ) -> PagerDutyCredentials | None:
        """None (the outbox) when the environment does not set the message's routing key."""
        name = str(message.body.get("routing_key", "")).removeprefix("$")
        return credentials if credentials and name in credentials.routing_keys else None

    def destination(self, message: OutboundMessage) -> str:
        return str(message.body.get("routing_key") or message.channel)

    def wants(self, occasion: Occasion, state: Mapping[str, str]) -> bool:
        # A problem that came from PagerDuty is already in that pager: paging it back there
        # would open a second page for the same problem.
        team = occasion.team
        return bool(
            team
            and team.routing_key_env
            and "pagerduty" not in occasion.sources
            and (occasion.pages or state.get("pagerduty_open"))
        )

    def build(
        self, occasion: Occasion, rendered: Rendered | None, state: Mapping[str, str]
    ) -> list[OutboundMessage]:
        assert occasion.team is not None
        messages = _messages(occasion, rendered, occasion.team, state)
        if occasion.ctx.event is E.ESCALATED and rendered is not None:
            messages += _escalation_pages(occasion, rendered)
        return messages

    def send(self, message: OutboundMessage, credentials: PagerDutyCredentials) -> Receipt:
        return send(message, credentials)

    def state_changes(self, message: OutboundMessage, receipt: Receipt) -> dict[str, str]:
        if message.action == "trigger":
            reminder = str(message.body.get("dedup_key", "")).endswith(":reminders")
            return {"pagerduty_reminders_open": "1"} if reminder else {"pagerduty_open": "1"}
        return {"pagerduty_open": ""} if message.action == "resolve" else {}

    def warm_up(self, credentials: PagerDutyCredentials) -> None:
        try:
            warm_up(credentials)
        except DeliveryError:  # PAGERDUTY_EVENTS_URL is not https: sends will say so
            pass


NOTIFIER = PagerDuty()


def _messages(
    occasion: Occasion, rendered: Rendered | None, team: Team, state: Mapping[str, str]
) -> list[OutboundMessage]:
    ctx = occasion.ctx
    base = {"routing_key": f"${team.routing_key_env}", "dedup_key": ctx.incident["id"]}
    if ctx.event is E.ACKNOWLEDGED:
        return [
            new_message(CHANNEL, "acknowledge", occasion, base | {"event_action": "acknowledge"})
        ]
    if ctx.event is E.RESOLVED:
        resolve = [new_message(CHANNEL, "resolve", occasion, base | {"event_action": "resolve"})]
        if state.get("pagerduty_reminders_open"):
            reminders = base | {"event_action": "resolve", "dedup_key": _reminder_key(occasion)}
            resolve.append(
                _keyed(new_message(CHANNEL, "resolve", occasion, reminders), "reminders")
            )
        return resolve
    if ctx.event not in PAGING_EVENTS or rendered is None:
        return []
    incident = ctx.incident
    if ctx.event is E.REMINDER:
        # A nudge, not an outage: its own low-urgency alert ("info"; PagerDuty's dynamic
        # urgency), so it reaches the commander without re-opening the acknowledged page.
        base = base | {"dedup_key": _reminder_key(occasion)}
    return [
        new_message(
            CHANNEL,
            "trigger",
            occasion,
            base
            | {
                "event_action": "trigger",
                "payload": {
                    "summary": rendered["summary"],
                    "source": incident["service"] or incident["team"] or "klaxon",
                    "severity": "info"
                    if ctx.event is E.REMINDER
                    else PD_SEVERITY[incident["severity"]],
                    "timestamp": _iso(incident["created_at"]),
                    "component": incident["service"] or None,
                    "group": incident["team"],
                    "class": incident["severity"],
                    "custom_details": {
                        "incident": incident["id"],
                        "status": incident["status"],
                        "alerts": incident["alert_count"],
                        "reason": ctx.reason,
                    }
                    | _suspected_changes(ctx),
                },
                "links": [{"href": ctx.links["incident"], "text": f"Klaxon {incident['id']}"}],
                "client": "Klaxon",
                "client_url": ctx.links["incident"],
            },
        )
    ]


def _suspected_changes(ctx: NotificationContext) -> dict[str, Any]:
    """`suspected_changes` (and `change_author`) for custom_details (any JSON; issue 17)."""
    # The Events API reaches a service, never a person: a rule's page_author is named here
    # for the on-call to call (Opsgenie pages them as a responder).
    author = ctx.incident.get("change_author")
    named = {"change_author": author} if author else {}
    suspects = ctx.suspected_changes(MAX_CHANGES_IN_DETAILS)
    if not suspects:
        return named
    return named | {
        "suspected_changes": [
            {
                "service": c.get("service", ""),
                "version": c.get("version", ""),
                "description": c.get("description", ""),
                "who": c.get("who", ""),
                "when": c.get("when"),
                "minutes_before_onset": round(float(c.get("seconds_before_onset", 0)) / 60, 1),
                "rollback": c.get("rollback", ""),
                "link": c.get("link", ""),
            }
            for c in suspects
        ]
    }


def _escalation_pages(occasion: Occasion, rendered: Rendered) -> list[OutboundMessage]:
    """Page each `team:<name>` an escalation step names, on that team's own service."""
    ctx, pages = occasion.ctx, []
    for target in (ctx.update or {}).get("escalated_to", []):
        name = target.removeprefix("team:")
        other = occasion.teams.get(name) if target.startswith("team:") else None
        if other is None or not other.routing_key_env or name == ctx.incident["team"]:
            continue
        [page] = _messages(occasion, rendered, other, {})
        body = page.body | {"dedup_key": f"{ctx.incident['id']}:{name}"}
        pages.append(replace(page, idempotency_key=f"{page.idempotency_key}:{name}", body=body))
    return pages


def _reminder_key(occasion: Occasion) -> str:
    return f"{occasion.ctx.incident['id']}:reminders"


def _keyed(message: OutboundMessage, suffix: str) -> OutboundMessage:
    return replace(message, idempotency_key=f"{message.idempotency_key}:{suffix}")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
