"""Send one Opsgenie Alert API v2 request (apis.md §2) through opsgenie-sdk 2.1.5.

Actions: create, acknowledge, close, note, escalate; all but create address the alert by its
alias (`identifierType=alias`), the dedup key Klaxon chose when it created it.

Two SDK habits are neutralised here (apis.md §2.4):
* `Configuration()` hands out shallow copies of one process-wide default, so its `api_key`
  dict is shared by every configuration: each client (one per key and host, reused by the
  process's jobs) gets its own dicts, never mutated.
* tenacity retries 429/5xx and network errors for up to 60 s inside the call and then raises
  `tenacity.RetryError`: we switch retries off (one attempt) and unwrap the last attempt.

The same code reaches the US, EU and Jira Service Management hosts: `base_url` is the prefix
in front of `/v2/alerts` (`https://api.atlassian.com/jsm/ops/integration` for JSM), and the
SDK simply concatenates host and path, so no requests fallback is needed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import opsgenie_sdk
import tenacity
import urllib3

if TYPE_CHECKING:
    from app.messages.render import Rendered

from app.messages import limits
from app.messages.context import MessageEvent, NotificationContext
from app.ruleset import RuleSet
from app.settings import Settings
from workers.channels._http import (
    DEFAULT_TIMEOUT,
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
    Receipt,
    configured,
    new_message,
)

CHANNEL = Channel.OPSGENIE
DEFAULT_API_URL = "https://api.opsgenie.com"  # EU: https://api.eu.opsgenie.com
E = MessageEvent
PRIORITY = {"SEV1": "P1", "SEV2": "P2", "SEV3": "P3", "SEV4": "P4"}
PAGING_EVENTS = {E.DECLARED, E.SEVERITY_RAISED, E.ESCALATED, E.REMINDER}
ERROR_STATUSES = ["400-599"]  # raised inside the (single) attempt, before the SDK parses JSON
DETAIL_MAX = 500  # characters per details value: a map of strings; keep each short


@dataclass(frozen=True, slots=True)
class OpsgenieCredentials:
    """An API integration key and where to send it (US, EU or JSM base URL)."""

    api_key: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    timeout: Timeout = DEFAULT_TIMEOUT

    @classmethod
    def from_outbound(cls, outbound: Mapping[str, str]) -> OpsgenieCredentials:
        """From Settings.outbound (OPSGENIE_API_KEY, OPSGENIE_API_URL)."""
        return cls(
            outbound["OPSGENIE_API_KEY"],
            (outbound.get("OPSGENIE_API_URL") or DEFAULT_API_URL).rstrip("/"),
        )


def send(message: OutboundMessage, credentials: OpsgenieCredentials) -> Receipt:
    """Make the one API call the message describes; vendor_id is Opsgenie's requestId (the
    outcome is decided asynchronously: GET /v2/alerts/requests/{requestId}).

    Raises:
        DeliveryError: the request was not accepted; `retryable` says whether to try again.
    """
    call = _ACTIONS.get(message.action)
    if call is None:
        raise DeliveryError(
            CHANNEL,
            FailureReason.CLIENT_ERROR,
            f"unknown action {message.action!r}; expected one of " + ", ".join(_ACTIONS),
        )
    api = _alert_api(credentials)
    answer = _one_attempt(lambda: call(api, message, credentials.timeout), credentials)
    return Receipt(
        CHANNEL,
        vendor_id=answer.request_id or "",
        detail={"result": answer.result or "", "action": message.action},
    )


def warm_up(credentials: OpsgenieCredentials) -> None:
    """Build the client now (no connection is made), as the first call would."""
    _alert_api(credentials)


def _close_alert_api(api: opsgenie_sdk.AlertApi) -> None:
    api.api_client.rest_client.pool_manager.clear()


@per_process(maxsize=4, close=_close_alert_api)
def _alert_api(credentials: OpsgenieCredentials) -> opsgenie_sdk.AlertApi:
    """One SDK client per key and host in this process: its urllib3 pool keeps the
    connection alive between calls, and its configuration holds only this key."""
    return opsgenie_sdk.AlertApi(opsgenie_sdk.ApiClient(_configuration(credentials)))


def _configuration(credentials: OpsgenieCredentials) -> opsgenie_sdk.Configuration:
    """A configuration owning its key: rebinding (not mutating) the dicts leaves the shared
    default and every other configuration untouched."""
    conf = opsgenie_sdk.Configuration()
    conf.api_key = {"Authorization": credentials.api_key}
    conf.api_key_prefix = {"Authorization": "GenieKey"}
    conf.host = credentials.api_url.rstrip("/")
    conf.retry_enabled = False  # should_retry_stop() then stops after the first attempt
    conf.retry_count = 1
    conf.retry_max_delay = 0
    conf.retry_http_response = list(ERROR_STATUSES)
    return conf


def _one_attempt(call: Callable[[], Any], credentials: OpsgenieCredentials) -> Any:
    try:
        return call()
    except tenacity.RetryError as exc:  # even with retries off, failures come wrapped
        cause = exc.last_attempt.exception() or exc
    except (opsgenie_sdk.ApiException, urllib3.exceptions.HTTPError, ValueError) as exc:
        cause = exc
    error = _delivery_error(cause, credentials)
    if error.status is not None:
        # The SDK's exception text quotes the vendor's headers and body unredacted, and a
        # chained cause lands in RQ's stored traceback; the status and redacted body are kept.
        raise error from None
    raise error from cause


def _delivery_error(exc: BaseException, credentials: OpsgenieCredentials) -> DeliveryError:
    secrets = (credentials.api_key,)
    if isinstance(exc, urllib3.exceptions.HTTPError):
        # NewConnectionError (refused, DNS) subclasses ConnectTimeoutError for old callers.
        timed_out = isinstance(exc, urllib3.exceptions.TimeoutError) and not isinstance(
            exc, urllib3.exceptions.NewConnectionError
        )
        return transport_error(CHANNEL, exc, secrets=secrets, timed_out=timed_out)
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status >= 100:
        error = status_error(
            CHANNEL,
            status,
            getattr(exc, "headers", None) or {},
            _text(getattr(exc, "body", "")),
            secrets=secrets,
        )
        if error is not None:
            return error
    # A 2xx whose body was not the JSON the SDK expects, or an SDK-side failure.
    return DeliveryError(
        CHANNEL, FailureReason.SERVER_ERROR, f"unexpected answer: {type(exc).__name__}"
    )


def _text(body: Any) -> str:
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")


def _alias(message: OutboundMessage) -> str:
    alias = message.target.get("opsgenie_alias") or message.body.get("alias")
    if not alias:
        raise DeliveryError(
            CHANNEL,
            FailureReason.CLIENT_ERROR,
            f"{message.action} needs the alert alias (target['opsgenie_alias'] or body['alias'])",
        )
    return str(alias)


def _body(message: OutboundMessage, *drop: str) -> dict[str, Any]:
    """The vendor JSON as it is: the SDK serialises plain dicts unchanged, so Opsgenie's own
    field names (visibleTo, responders, details) need no translation into SDK models."""
    body = copy.deepcopy(message.body)
    for name in drop:
        body.pop(name, None)
    return body


def _create(api: opsgenie_sdk.AlertApi, message: OutboundMessage, timeout: Timeout) -> Any:
    return api.create_alert(create_alert_payload=_body(message), _request_timeout=timeout)


def _acknowledge(api: opsgenie_sdk.AlertApi, message: OutboundMessage, timeout: Timeout) -> Any:
    return api.acknowledge_alert(
        _alias(message),
        identifier_type="alias",
        acknowledge_alert_payload=_body(message, "alias"),
        _request_timeout=timeout,
    )


def _close(api: opsgenie_sdk.AlertApi, message: OutboundMessage, timeout: Timeout) -> Any:
    return api.close_alert(
        _alias(message),
        identifier_type="alias",
        close_alert_payload=_body(message, "alias"),
        _request_timeout=timeout,
    )


def _note(api: opsgenie_sdk.AlertApi, message: OutboundMessage, timeout: Timeout) -> Any:
    return api.add_note(
        _alias(message),
        identifier_type="alias",
        add_note_to_alert_payload=_body(message, "alias"),
        _request_timeout=timeout,
    )


def _escalate(api: opsgenie_sdk.AlertApi, message: OutboundMessage, timeout: Timeout) -> Any:
    return api.escalate_alert(
        _alias(message),
        identifier_type="alias",
        escalate_alert_to_next_payload=_body(message, "alias"),
        _request_timeout=timeout,
    )


_ACTIONS: dict[str, Callable[[opsgenie_sdk.AlertApi, OutboundMessage, Timeout], Any]] = {
    "create": _create,
    "acknowledge": _acknowledge,
    "close": _close,
    "note": _note,
    "escalate": _escalate,
}


def _suspected_change(ctx: NotificationContext) -> dict[str, str]:
    """`suspected_change` (the newest) and its `rollback` for the details (issue 17), or
    nothing: Opsgenie takes string values only."""
    suspects = ctx.suspected_changes(1)
    if not suspects:
        return {}
    [newest] = suspects
    minutes = round(float(newest.get("seconds_before_onset", 0)) / 60)
    line = f"{newest.get('service', '')} {newest.get('version', '')}"
    if newest.get("who"):
        line += f" by {newest['who']}"
    line += f", {minutes} min before onset"
    details = {"suspected_change": line[:DETAIL_MAX]}
    if newest.get("rollback"):
        details["rollback"] = str(newest["rollback"])[:DETAIL_MAX]
    return details


class Opsgenie(BaseNotifier):
    """Opens an alert for the team's Opsgenie team or responders when the policy pages, and
    notes, acknowledges and closes it as the incident moves."""

    name = CHANNEL
    fields = (
        Field("message", "txt", limits.OPSGENIE_MESSAGE_MAX, limits.truncate),
        Field("description", "md", limits.OPSGENIE_DESCRIPTION_MAX, limits.truncate),
    )
    required_env = ("OPSGENIE_API_KEY",)
    state_fields = ("opsgenie_open",)

    def credentials(self, settings: Settings, ruleset: RuleSet) -> OpsgenieCredentials | None:
        if not configured(settings, self.required_env):
            return None
        return OpsgenieCredentials.from_outbound(settings.outbound)

    def wants(self, occasion: Occasion, state: Mapping[str, str]) -> bool:
        # A problem that came from Opsgenie is already in that pager (see PagerDuty).
        team = occasion.team
        return bool(
            team
            and (team.opsgenie_team or team.responders)
            and "opsgenie" not in occasion.sources
            and (occasion.pages or state.get("opsgenie_open"))
        )

    def build(
        self, occasion: Occasion, rendered: Rendered | None, state: Mapping[str, str]
    ) -> list[OutboundMessage]:
        team, ctx = occasion.team, occasion.ctx
        if rendered is None or team is None:
            return []
        incident = ctx.incident
        alias = incident["id"]
        if ctx.event is E.DECLARED or (
            ctx.event in PAGING_EVENTS and not state.get("opsgenie_open")
        ):
            responders = [{"type": r.type.value, "name": r.name} for r in team.responders] or [
                {"type": "team", "name": team.opsgenie_team}
            ]
            if incident.get("change_author"):  # rules changes.after_release page_author
                responders.append({"type": "user", "username": incident["change_author"]})
            body = {
                "message": rendered["message"],
                "alias": alias,
                "description": rendered["description"],
                "priority": PRIORITY[incident["severity"]],
                "responders": responders,
                "tags": [incident["severity"], incident["team"]]
                + ([incident["service"]] if incident["service"] else []),
                "details": {"incident": incident["id"], "url": ctx.links["incident"]}
                | _suspected_change(ctx),
                "entity": incident["service"] or incident["team"],
                "source": "Klaxon",
            }
            return [new_message(CHANNEL, "create", occasion, body)]
        action = {E.ACKNOWLEDGED: "acknowledge", E.RESOLVED: "close"}.get(ctx.event, "note")
        note: dict[str, Any] = {
            "source": "Klaxon",
            "user": "Klaxon",
            "note": rendered["description"],
        }
        return [new_message(CHANNEL, action, occasion, note, {"opsgenie_alias": alias})]

    def send(self, message: OutboundMessage, credentials: OpsgenieCredentials) -> Receipt:
        return send(message, credentials)

    def state_changes(self, message: OutboundMessage, receipt: Receipt) -> dict[str, str]:
        return {"create": {"opsgenie_open": "1"}, "close": {"opsgenie_open": ""}}.get(
            message.action, {}
        )

    def warm_up(self, credentials: OpsgenieCredentials) -> None:
        warm_up(credentials)


NOTIFIER = Opsgenie()
