"""What every outbound channel is: the `Notifier` protocol, the messages and receipts it deals
in, and the one error a send raises. Pure: no IO, no vendor SDK.

A channel is one module in workers/channels/ with one `Notifier` (usually a `BaseNotifier`
subclass), one line in `CHANNELS` (workers/channels/__init__.py) and its templates in
templates/<name>/. Everything else (the ledger, rate limits, Retry-After, repair, the outbox,
the timeline) is workers/delivery.py's, around `send`, never inside a channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from app.messages.render import Field
from app.store.ratelimit import RateLimit

if TYPE_CHECKING:
    from app.messages.context import MessageEvent, NotificationContext
    from app.messages.render import Rendered
    from app.ruleset import RuleSet
    from app.ruleset.model import Team
    from app.settings import Settings


class Channel(StrEnum):
    """Every channel's name: its templates folder, its ledger and metrics label."""

    PAGERDUTY = "pagerduty"
    OPSGENIE = "opsgenie"
    STATUSPAGE = "statuspage"
    X = "x"
    SLACK = "slack"
    SUBSCRIBERS = "subscribers"


class FailureReason(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429 (Statuspage also 420): retry after Retry-After
    SERVER_ERROR = "server_error"  # 5xx: retry with backoff
    TIMEOUT = "timeout"  # no answer in time: retry with backoff
    CONNECTION = "connection"  # refused, reset, DNS: retry with backoff
    CLIENT_ERROR = "client_error"  # other 4xx: a bug or bad data; never retried
    AUTH = "auth"  # 401/403: credentials wrong; never retried
    DUPLICATE = "duplicate"  # the vendor says it already has it (X duplicate-content 403)


RETRYABLE = {
    FailureReason.RATE_LIMITED,
    FailureReason.SERVER_ERROR,
    FailureReason.TIMEOUT,
    FailureReason.CONNECTION,
}
# No answer: the vendor may have acted on the call, so a retry looks before it sends again.
MAYBE_MADE = {FailureReason.TIMEOUT, FailureReason.CONNECTION}


class DeliveryError(Exception):
    """A send that failed; says whether trying again could help. Never carries a secret."""

    def __init__(
        self,
        channel: Channel,
        reason: FailureReason,
        detail: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            f"{channel}: {reason}"
            + (f" (HTTP {status})" if status else "")
            + (f": {detail[:300]}" if detail else "")
        )
        self.channel = channel
        self.reason = reason
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One call to one vendor: exactly what would be sent, minus credentials.

    `body` is the vendor's JSON body (PagerDuty's routing_key appears as the *name* of its
    environment variable, `$PD_ROUTING_KEY_CHECKOUT`; the real key is added only in `send`).
    `idempotency_key` names the effect in the outbound ledger: the same key is sent once.
    """

    channel: Channel
    action: (
        str  # trigger/acknowledge/resolve, create/acknowledge/close/note, create/update, post/reply
    )
    incident_id: str
    event: str  # the lifecycle message that caused it: declared, update_posted, ...
    idempotency_key: str
    body: dict[str, Any]
    target: dict[str, str] = field(default_factory=dict)  # e.g. {"statuspage_incident": "..."}


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the vendor answered that later messages need (ids to update or reply to)."""

    channel: Channel
    vendor_id: str = ""  # PagerDuty dedup_key, Opsgenie requestId, Statuspage incident id, post id
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Occasion:
    """One lifecycle event as every channel of a job sees it: what `wants` and `build` read.

    ctx:     what the templates read (app/messages/context.py)
    team:    the incident's team in the rules, None if they do not know it
    teams:   every team, for messages to other teams (PagerDuty's escalation pages)
    sources: the sources of the incident's alerts ("pagerduty", "alertmanager", ...)
    pages:   the severity policy pages now (page: always, or business hours and it is)
    seq:     the event's sequence number: part of every idempotency key
    """

    ctx: NotificationContext
    team: Team | None
    teams: Mapping[str, Team] = field(default_factory=dict)
    sources: frozenset[str] = frozenset()
    pages: bool = False
    seq: str = "0"


class Notifier(Protocol):
    """One outbound channel. Everything but `send`, `already_made`, `repair`, `duplicate` and
    `warm_up` is pure; those call the vendor and never retry (workers/delivery.py does).

    `state` is what the channels already carry for the incident (fields of its hash, only the
    ones some channel's `state_fields` names): ids to update or reply to, "open" flags."""

    # Attributes, read-only (a class attribute meets them: `name = Channel.X`).
    @property
    def name(self) -> Channel: ...
    @property
    def public(self) -> bool:
        """Customers read it: plain text, guarded, sent by notify_public's queue."""
        ...

    @property
    def fields(self) -> tuple[Field, ...]:
        """Its text: templates/<name>/<event>.<field>.<ext>.j2, each fitted to its limit."""
        ...

    @property
    def silent(self) -> frozenset[MessageEvent]:
        """Events it deliberately says nothing about: no templates, `rendered` is None."""
        ...

    @property
    def required_env(self) -> tuple[str, ...]:
        """Settings.outbound names; any unset: its messages go to the outbox."""
        ...

    @property
    def rate_limit(self) -> RateLimit | None:
        """A budget shared by every worker per destination; None: no limit of ours."""
        ...

    @property
    def state_fields(self) -> tuple[str, ...]:
        """The incident-hash fields its state_changes may set."""
        ...

    @property
    def repeat_by_text(self) -> bool:
        """The vendor knows a repeat only by its exact text (X): every attempt of a message
        sends the text of the first (the ledger keeps it), not what a retry renders later."""
        ...

    def credentials(self, settings: Settings, ruleset: RuleSet) -> Any | None:
        """Its credentials from Settings (the only reader of the environment), once per
        process; None when the channel is not configured."""
        ...

    def credentials_for(self, credentials: Any, message: OutboundMessage) -> Any | None:
        """The credentials one message goes with; None sends it to the outbox (PagerDuty: a
        routing key the environment does not set)."""
        ...

    def wants(self, occasion: Occasion, state: Mapping[str, str]) -> bool:
        """This channel hears about the event (the severity policy, or it already carries the
        incident and must be told the rest)."""
        ...

    def build(
        self, occasion: Occasion, rendered: Rendered | None, state: Mapping[str, str]
    ) -> list[OutboundMessage]:
        """What to send, in order (a later one may need what an earlier one made). `rendered`
        is None for an event in `silent`."""
        ...

    def destination(self, message: OutboundMessage) -> str:
        """What its rate limit is counted per (an API key, a routing key)."""
        ...

    def send(self, message: OutboundMessage, credentials: Any) -> Receipt:
        """One call. Raises DeliveryError; never retries itself."""
        ...

    def already_made(self, message: OutboundMessage, credentials: Any) -> Receipt | None:
        """What an earlier attempt made when its answer was lost (reads only); None when it
        made nothing or the vendor deduplicates by itself."""
        ...

    def repair(
        self, message: OutboundMessage, credentials: Any, error: DeliveryError
    ) -> tuple[OutboundMessage, str] | None:
        """A refused message the vendor would take with less in it, and a note saying what
        was left out (reads only); None when there is no such message."""
        ...

    def duplicate(
        self, message: OutboundMessage, credentials: Any, error: DeliveryError
    ) -> Receipt:
        """The vendor refused the message as one it already has (FailureReason.DUPLICATE):
        the receipt to record instead. Raises `error` when the channel never says so."""
        ...

    def state_changes(self, message: OutboundMessage, receipt: Receipt) -> dict[str, str]:
        """The incident-hash fields (among `state_fields`) a sent message sets: ids later
        messages need, "open" flags; "" clears one."""
        ...

    def warm_up(self, credentials: Any) -> None:
        """Load the vendor's client modules before workers fork (no connection)."""
        ...

    def on_timeline(self, message: OutboundMessage) -> bool:
        """A sent or refused `message` goes on the incident's timeline (a fan-out's posts to
        each status-page subscriber do not: the fan-out's own entry stands for them)."""
        ...


class BaseNotifier:
    """The optional parts of a Notifier, for channels that need none of them: a subclass sets
    the attributes and writes credentials, wants, build and send. (The annotations give the
    subclasses' attributes the Protocol's types: `fields = (Field(...),)` is a tuple[Field, ...],
    not a tuple[Field].)"""

    name: Channel
    fields: tuple[Field, ...]
    public: bool = False
    silent: frozenset[MessageEvent] = frozenset()
    required_env: tuple[str, ...] = ()
    rate_limit: RateLimit | None = None
    state_fields: tuple[str, ...] = ()
    repeat_by_text: bool = False

    def credentials_for(self, credentials: Any, message: OutboundMessage) -> Any | None:
        return credentials

    def destination(self, message: OutboundMessage) -> str:
        return str(message.channel)

    def already_made(self, message: OutboundMessage, credentials: Any) -> Receipt | None:
        return None

    def repair(
        self, message: OutboundMessage, credentials: Any, error: DeliveryError
    ) -> tuple[OutboundMessage, str] | None:
        return None

    def duplicate(
        self, message: OutboundMessage, credentials: Any, error: DeliveryError
    ) -> Receipt:
        raise error

    def state_changes(self, message: OutboundMessage, receipt: Receipt) -> dict[str, str]:
        return {}

    def warm_up(self, credentials: Any) -> None:
        return None

    def on_timeline(self, message: OutboundMessage) -> bool:
        return True


def configured(settings: Settings, required: tuple[str, ...]) -> bool:
    """Every variable a channel requires is set (to something)."""
    return all(settings.outbound.get(name) for name in required)


def new_message(
    channel: Channel,
    action: str,
    occasion: Occasion,
    body: dict[str, Any],
    target: dict[str, str] | None = None,
) -> OutboundMessage:
    """One message of `occasion`, keyed by the event, not the action: a retry that finds the
    status-page incident already created (or the X thread already started) must skip, not
    send an update in its place."""
    ctx = occasion.ctx
    incident = ctx.incident["id"]
    key = f"{channel}:{incident}:{ctx.event}:{occasion.seq}"
    return OutboundMessage(channel, action, incident, ctx.event.value, key, body, target or {})
