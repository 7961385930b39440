"""Create or update one Atlassian Statuspage incident (apis.md §3) with a thin requests client,
and read what a retry needs: the unresolved incidents (a lost create) and the page's components
(a refusal over a component the page does not have).

Statuspage allows one request per second per token and answers 420 or 429 beyond that;
both are RATE_LIMITED with Retry-After kept, and spacing the calls is the queue's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

if TYPE_CHECKING:
    from app.messages.context import NotificationContext
    from app.messages.render import Rendered

from app.messages import limits
from app.messages.context import MessageEvent
from app.ruleset import RuleSet
from app.ruleset.vocabulary import ComponentStatus
from app.settings import Settings
from workers.channels._http import DEFAULT_TIMEOUT, Timeout, guarded, shared_session
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
    configured,
    new_message,
)

CHANNEL = Channel.STATUSPAGE
DEFAULT_API_URL = "https://api.statuspage.io/v1"
RATE_LIMIT_STATUSES = frozenset({420, 429})  # the spec names both
UNPROCESSABLE = 422  # the spec's answer to a create or update it will not take
COMPONENT_FIELDS = ("component_ids", "components")
COMPONENT_OPERATIONAL = ComponentStatus.OPERATIONAL.value
E = MessageEvent


@dataclass(frozen=True, slots=True)
class StatuspageCredentials:
    """An API key (sent as `Authorization: OAuth <key>`, never as ?api_key=) and the page."""

    api_key: str = field(repr=False)
    page_id: str
    api_url: str = DEFAULT_API_URL
    timeout: Timeout = DEFAULT_TIMEOUT

    @classmethod
    def from_outbound(cls, outbound: Mapping[str, str]) -> StatuspageCredentials:
        """From Settings.outbound (STATUSPAGE_API_KEY, STATUSPAGE_PAGE_ID, STATUSPAGE_API_URL)."""
        return cls(
            outbound["STATUSPAGE_API_KEY"],
            outbound["STATUSPAGE_PAGE_ID"],
            (outbound.get("STATUSPAGE_API_URL") or DEFAULT_API_URL).rstrip("/"),
        )


def send(
    message: OutboundMessage,
    credentials: StatuspageCredentials,
    *,
    session: requests.Session | None = None,
) -> Receipt:
    """Create (POST) or update (PATCH) the incident; vendor_id is Statuspage's incident id, and
    detail["components"] the component ids the change named (space-separated), if any.

    `message.body` is `{"incident": {name, status, body, component_ids, components,
    impact_override, ...}}`; an update names its incident in
    `message.target["statuspage_incident"]`.

    Raises:
        DeliveryError: the change was not accepted; `retryable` says whether to try again.
    """
    method, url = _request_line(message, credentials)
    incident = _incident(_call(method, url, credentials, session, message.body))
    # The components this change named, now accepted: later updates keep naming them.
    components = " ".join((message.body.get("incident") or {}).get("component_ids") or ())
    return Receipt(
        CHANNEL,
        vendor_id=str(incident["id"]),
        detail={"status": incident.get("status", ""), "shortlink": incident.get("shortlink") or ""}
        | ({"components": components} if components else {}),
    )


def already_made(message: OutboundMessage, credentials: StatuspageCredentials) -> Receipt | None:
    """The incident an earlier create of `message` made, if Statuspage has it: only a create
    whose answer was lost could leave a second public incident behind.

    Raises:
        DeliveryError: the unresolved incidents could not be read.
    """
    if message.action != "create":
        return None
    existing = find_incident(message.incident_id, credentials)
    return Receipt(CHANNEL, vendor_id=existing) if existing else None


def without_unknown_components(
    message: OutboundMessage, credentials: StatuspageCredentials, error: DeliveryError
) -> tuple[OutboundMessage, str] | None:
    """`message` less the components its page does not have, and a note naming them, when
    Statuspage refused it as unprocessable and such components are among what it names: a
    stale id in the rules' statuspage.components must not keep the incident off the page.
    None when that is not why (the refusal then stands).

    Raises:
        DeliveryError: the page's components could not be read.
    """
    incident = message.body.get("incident") or {}
    named = list(
        dict.fromkeys([*(incident.get("component_ids") or ()), *(incident.get("components") or {})])
    )
    if error.status != UNPROCESSABLE or not named:
        return None
    known = page_components(credentials)
    unknown = [c for c in named if c not in known]
    if not unknown:
        return None
    fields = {k: v for k, v in incident.items() if k not in COMPONENT_FIELDS}
    kept = [c for c in named if c in known]
    if kept:
        statuses = incident.get("components") or {}
        fields |= {
            "component_ids": kept,
            "components": {c: statuses[c] for c in kept if c in statuses},
        }
    note = (
        f"the Statuspage page has no component {', '.join(unknown)}, so it was sent "
        f"without {'it' if len(unknown) == 1 else 'them'}: correct statuspage.components "
        "in the rules"
    )
    return replace(message, body=message.body | {"incident": fields}), note


def page_components(
    credentials: StatuspageCredentials, *, session: requests.Session | None = None
) -> set[str]:
    """The ids of the page's components (GET /pages/{page_id}/components).

    Raises:
        DeliveryError: the list could not be read.
    """
    response = _call("GET", f"{_page_url(credentials)}/components", credentials, session)
    try:
        components = response.json()
    except ValueError:
        components = None
    if not isinstance(components, list):
        raise DeliveryError(
            CHANNEL,
            FailureReason.SERVER_ERROR,
            "Statuspage answered the component list with something else",
            status=response.status_code,
        )
    return {str(c["id"]) for c in components if isinstance(c, dict) and c.get("id")}


def find_incident(
    marker: str, credentials: StatuspageCredentials, *, session: requests.Session | None = None
) -> str | None:
    """The unresolved Statuspage incident Klaxon created for `marker` (its incident id, kept in
    the incident's metadata), if any: how a create whose answer was lost is recognised."""
    response = _call("GET", f"{_incidents_url(credentials)}/unresolved", credentials, session)
    try:
        incidents = response.json()
    except ValueError:
        incidents = []
    for incident in incidents if isinstance(incidents, list) else []:
        if (
            isinstance(incident, dict)
            and ((incident.get("metadata") or {}).get("klaxon") or {}).get("incident") == marker
        ):
            return str(incident["id"])
    return None


def _call(
    method: str,
    url: str,
    credentials: StatuspageCredentials,
    session: requests.Session | None,
    body: Any = None,
) -> requests.Response:
    """One request with the API key in the header (never ?api_key=, it ends up in logs), on
    the process's keep-alive session for these credentials unless a session is given."""
    session = session or shared_session(credentials, credentials.timeout)
    return guarded(
        CHANNEL,
        lambda: session.request(
            method,
            url,
            json=body,
            timeout=credentials.timeout,
            headers={"Authorization": f"OAuth {credentials.api_key}", "Accept": "application/json"},
        ),
        retry_on=RATE_LIMIT_STATUSES,
        secrets=(credentials.api_key,),
    )


def warm_up(credentials: StatuspageCredentials) -> None:
    """Build the session now (no connection is made), as the first call would."""
    shared_session(credentials, credentials.timeout)


def _page_url(credentials: StatuspageCredentials) -> str:
    return f"{credentials.api_url.rstrip('/')}/pages/{quote(credentials.page_id, safe='')}"


def _incidents_url(credentials: StatuspageCredentials) -> str:
    return f"{_page_url(credentials)}/incidents"


def _request_line(message: OutboundMessage, credentials: StatuspageCredentials) -> tuple[str, str]:
    incidents = _incidents_url(credentials)
    if message.action == "create":
        return "POST", incidents
    if message.action == "update":
        incident_id = message.target.get("statuspage_incident")
        if not incident_id:
            raise DeliveryError(
                CHANNEL,
                FailureReason.CLIENT_ERROR,
                "update needs target['statuspage_incident'] (the id the create answered)",
            )
        return "PATCH", f"{incidents}/{quote(incident_id, safe='')}"
    raise DeliveryError(
        CHANNEL,
        FailureReason.CLIENT_ERROR,
        f"unknown action {message.action!r}; expected create or update",
    )


def _incident(response: requests.Response) -> dict[str, Any]:
    try:
        incident = response.json()
    except ValueError:
        incident = None
    if not isinstance(incident, dict) or not incident.get("id"):
        raise DeliveryError(
            CHANNEL,
            FailureReason.SERVER_ERROR,
            "Statuspage accepted the change but its answer had no incident id",
            status=response.status_code,
        )
    return incident


class Statuspage(BaseNotifier):
    """The public status page: an incident created when the policy gives the severity a
    public impact, updated as the incident moves, with the components it affects."""

    name = CHANNEL
    public = True
    fields = (
        Field("name", "txt", limits.STATUSPAGE_NAME_MAX, limits.truncate),
        Field("body", "md", limits.STATUSPAGE_BODY_MAX, limits.truncate),
    )
    # Customers hear about impact, not about who picked up the page or an overdue update.
    silent = frozenset({E.ACKNOWLEDGED, E.ESCALATED, E.REMINDER})
    required_env = ("STATUSPAGE_API_KEY", "STATUSPAGE_PAGE_ID")
    rate_limit = RateLimit(1.0, 1)  # one request a second per API key, no burst
    state_fields = ("statuspage_id", "statuspage_components")

    def credentials(self, settings: Settings, ruleset: RuleSet) -> StatuspageCredentials | None:
        if not configured(settings, self.required_env):
            return None
        return StatuspageCredentials.from_outbound(settings.outbound)

    def wants(self, occasion: Occasion, state: Mapping[str, str]) -> bool:
        impact = occasion.ctx.policy["statuspage"]["impact"]
        return impact != "none" or bool(state.get("statuspage_id"))

    def build(
        self, occasion: Occasion, rendered: Rendered | None, state: Mapping[str, str]
    ) -> list[OutboundMessage]:
        if rendered is None:
            return []
        ctx = occasion.ctx
        incident = ctx.incident
        fields: dict[str, Any] = {
            "name": rendered["name"],
            "status": incident["status"],
            "body": rendered["body"],
            "deliver_notifications": True,
        }
        if incident["status"] != "resolved":
            fields["impact_override"] = ctx.policy["statuspage"]["impact"]
        fields |= _components(ctx, state)
        if not state.get("statuspage_id"):
            if incident["status"] == "resolved":
                return []  # never open a public incident only to close it
            # Statuspage metadata values must be objects; the marker lets a retry find this
            # incident if the answer to the create was lost (already_made).
            fields["metadata"] = {"klaxon": {"incident": incident["id"]}}
            return [new_message(CHANNEL, "create", occasion, {"incident": fields})]
        target = {"statuspage_incident": state["statuspage_id"]}
        return [new_message(CHANNEL, "update", occasion, {"incident": fields}, target)]

    def send(self, message: OutboundMessage, credentials: StatuspageCredentials) -> Receipt:
        return send(message, credentials)

    def already_made(
        self, message: OutboundMessage, credentials: StatuspageCredentials
    ) -> Receipt | None:
        # Creating blind could open a second public incident: a failed look raises, and the
        # job is retried later.
        return already_made(message, credentials)

    def repair(
        self, message: OutboundMessage, credentials: StatuspageCredentials, error: DeliveryError
    ) -> tuple[OutboundMessage, str] | None:
        # A component id gone stale in the rules must not keep the incident off the page.
        return without_unknown_components(message, credentials, error)

    def state_changes(self, message: OutboundMessage, receipt: Receipt) -> dict[str, str]:
        # The components Statuspage accepted stay on the incident's list until it resolves.
        components = receipt.detail.get("components")
        changes = {"statuspage_components": components} if components else {}
        if message.action == "create":
            return {"statuspage_id": receipt.vendor_id} | changes
        return changes if message.action == "update" else {}

    def warm_up(self, credentials: StatuspageCredentials) -> None:
        warm_up(credentials)


NOTIFIER = Statuspage()


def _components(ctx: NotificationContext, state: Mapping[str, str]) -> dict[str, Any]:
    """Statuspage's component fields: every component the incident affects at the status its
    current severity gives, and back to operational once it is resolved. Components an earlier
    message set stay in the list, so a rules change during the incident leaves none behind."""
    ids = list(dict.fromkeys([*ctx.components, *state.get("statuspage_components", "").split()]))
    if not ids:
        return {}
    status = (
        COMPONENT_OPERATIONAL
        if ctx.incident["status"] == "resolved"
        else ctx.policy["statuspage"]["component_status"]
    )
    return {"component_ids": ids, "components": dict.fromkeys(ids, status)}
