"""What each channel sends for each lifecycle event: pure functions from the rendered text,
the context and the incident's channel state to OutboundMessages (Alertmanager keeps
building apart from sending the same way). No IO here.

Who hears what follows the severity policy: pagers for every severity that pages (and the
team has a pager), the status page when the policy gives the severity a public impact, X
when the policy says so. Updates, acknowledgements and resolutions go to every channel that
already carries the incident, so a thread or a status-page incident is always closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.ruleset.model import Team
from app.ruleset.vocabulary import ComponentStatus
from workers.change_details import opsgenie_details, pagerduty_details
from workers.context import MessageEvent, NotificationContext
from workers.notifiers import Channel, OutboundMessage
from workers.render import Rendered

E = MessageEvent
PD_SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}
OPSGENIE_PRIORITY = {"SEV1": "P1", "SEV2": "P2", "SEV3": "P3", "SEV4": "P4"}
PAGING_EVENTS = {E.DECLARED, E.SEVERITY_RAISED, E.ESCALATED, E.REMINDER}
COMPONENT_OPERATIONAL = ComponentStatus.OPERATIONAL.value


def wanted_channels(
    ctx: NotificationContext,
    team: Team | None,
    state: dict[str, str],
    sources: set[str],
    pages: bool,
) -> list[Channel]:
    """The channels that hear about this event, in the order they are told."""
    channels = []
    # A problem that came from PagerDuty or Opsgenie is already in that pager: paging it back
    # there would open a second page for the same problem.
    if (
        team
        and team.routing_key_env
        and "pagerduty" not in sources
        and (pages or state.get("pagerduty_open"))
    ):
        channels.append(Channel.PAGERDUTY)
    if (
        team
        and (team.opsgenie_team or team.responders)
        and "opsgenie" not in sources
        and (pages or state.get("opsgenie_open"))
    ):
        channels.append(Channel.OPSGENIE)
    if ctx.policy["statuspage"]["impact"] != "none" or state.get("statuspage_id"):
        channels.append(Channel.STATUSPAGE)
    if ctx.policy["x_post"] or state.get("x_last_id"):
        channels.append(Channel.X)
    return channels


def plan(
    channel: Channel,
    ctx: NotificationContext,
    rendered: Rendered | None,
    team: Team | None,
    state: dict[str, str],
    seq: str,
    teams: Mapping[str, Team] | None = None,
) -> list[OutboundMessage]:
    """The messages for one channel; `rendered` is None when the channel has no text for the
    event (render's NO_MESSAGE), which only PagerDuty's acknowledge and resolve can do without."""
    if rendered is None and channel is not Channel.PAGERDUTY:
        return []
    messages = _PLANNERS[channel](ctx, rendered, team, state, seq)
    if channel is Channel.PAGERDUTY and ctx.event is E.ESCALATED and rendered is not None:
        messages += _escalation_pages(ctx, rendered, teams or {}, seq)
    return messages


def _escalation_pages(
    ctx: NotificationContext, rendered: Any, teams: Mapping[str, Team], seq: str
) -> list[OutboundMessage]:
    """Page each `team:<name>` an escalation step names, on that team's own service."""
    pages = []
    for target in (ctx.update or {}).get("escalated_to", []):
        name = target.removeprefix("team:")
        other = teams.get(name) if target.startswith("team:") else None
        if other is None or not other.routing_key_env or name == ctx.incident["team"]:
            continue
        [page] = _pagerduty(ctx, rendered, other, {}, seq)
        body = page.body | {"dedup_key": f"{ctx.incident['id']}:{name}"}
        pages.append(
            OutboundMessage(
                page.channel,
                page.action,
                page.incident_id,
                page.event,
                f"{page.idempotency_key}:{name}",
                body,
            )
        )
    return pages


def _message(
    channel: Channel,
    action: str,
    ctx: NotificationContext,
    seq: str,
    body: dict[str, Any],
    target: dict[str, str] | None = None,
) -> OutboundMessage:
    incident = ctx.incident["id"]
    # Keyed by the event, not the action: a retry that finds the status-page incident already
    # created (or the X thread already started) must skip, not send an update in its place.
    key = f"{channel}:{incident}:{ctx.event}:{seq}"
    return OutboundMessage(channel, action, incident, ctx.event.value, key, body, target or {})


def _pagerduty(
    ctx: NotificationContext, rendered: Any, team: Team | None, state: dict[str, str], seq: str
) -> list[OutboundMessage]:
    assert team is not None
    base = {"routing_key": f"${team.routing_key_env}", "dedup_key": ctx.incident["id"]}
    if ctx.event is E.ACKNOWLEDGED:
        return [
            _message(
                Channel.PAGERDUTY, "acknowledge", ctx, seq, base | {"event_action": "acknowledge"}
            )
        ]
    if ctx.event is E.RESOLVED:
        resolve = [
            _message(Channel.PAGERDUTY, "resolve", ctx, seq, base | {"event_action": "resolve"})
        ]
        if state.get("pagerduty_reminders_open"):
            reminders = base | {"event_action": "resolve", "dedup_key": _reminder_key(ctx)}
            resolve.append(
                _keyed(_message(Channel.PAGERDUTY, "resolve", ctx, seq, reminders), "reminders")
            )
        return resolve
    if ctx.event not in PAGING_EVENTS or rendered is None:
        return []
    incident = ctx.incident
    if ctx.event is E.REMINDER:
        # A nudge, not an outage: its own low-urgency alert ("info"; PagerDuty's dynamic
        # urgency), so it reaches the commander without re-opening the acknowledged page.
        base = base | {"dedup_key": _reminder_key(ctx)}
    return [
        _message(
            Channel.PAGERDUTY,
            "trigger",
            ctx,
            seq,
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
                    | pagerduty_details(ctx),
                },
                "links": [{"href": ctx.links["incident"], "text": f"Klaxon {incident['id']}"}],
                "client": "Klaxon",
                "client_url": ctx.links["incident"],
            },
        )
    ]


def _reminder_key(ctx: NotificationContext) -> str:
    return f"{ctx.incident['id']}:reminders"


def _keyed(message: OutboundMessage, suffix: str) -> OutboundMessage:
    return OutboundMessage(
        message.channel,
        message.action,
        message.incident_id,
        message.event,
        f"{message.idempotency_key}:{suffix}",
        message.body,
        message.target,
    )


def _opsgenie(
    ctx: NotificationContext, rendered: Any, team: Team | None, state: dict[str, str], seq: str
) -> list[OutboundMessage]:
    assert team is not None
    incident = ctx.incident
    alias = incident["id"]
    if ctx.event is E.DECLARED or (ctx.event in PAGING_EVENTS and not state.get("opsgenie_open")):
        responders = [{"type": r.type.value, "name": r.name} for r in team.responders] or [
            {"type": "team", "name": team.opsgenie_team}
        ]
        return [
            _message(
                Channel.OPSGENIE,
                "create",
                ctx,
                seq,
                {
                    "message": rendered["message"],
                    "alias": alias,
                    "description": rendered["description"],
                    "priority": OPSGENIE_PRIORITY[incident["severity"]],
                    "responders": responders,
                    "tags": [incident["severity"], incident["team"]]
                    + ([incident["service"]] if incident["service"] else []),
                    "details": {"incident": incident["id"], "url": ctx.links["incident"]}
                    | opsgenie_details(ctx),
                    "entity": incident["service"] or incident["team"],
                    "source": "Klaxon",
                },
            )
        ]
    action = {E.ACKNOWLEDGED: "acknowledge", E.RESOLVED: "close", E.ESCALATED: "note"}.get(
        ctx.event, "note"
    )
    body: dict[str, Any] = {"source": "Klaxon", "user": "Klaxon", "note": rendered["description"]}
    return [_message(Channel.OPSGENIE, action, ctx, seq, body, {"opsgenie_alias": alias})]


def _statuspage(
    ctx: NotificationContext, rendered: Any, team: Team | None, state: dict[str, str], seq: str
) -> list[OutboundMessage]:
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
        # incident if the answer to the create was lost (workers/jobs.py, "unsure").
        fields["metadata"] = {"klaxon": {"incident": incident["id"]}}
        return [_message(Channel.STATUSPAGE, "create", ctx, seq, {"incident": fields})]
    return [
        _message(
            Channel.STATUSPAGE,
            "update",
            ctx,
            seq,
            {"incident": fields},
            {"statuspage_incident": state["statuspage_id"]},
        )
    ]


def _components(ctx: NotificationContext, state: dict[str, str]) -> dict[str, Any]:
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


def _x(
    ctx: NotificationContext, rendered: Any, team: Team | None, state: dict[str, str], seq: str
) -> list[OutboundMessage]:
    last = state.get("x_last_id")
    if not last:
        if ctx.incident["status"] == "resolved":
            return []
        return [_message(Channel.X, "post", ctx, seq, {"text": rendered["post"]})]
    return [
        _message(
            Channel.X,
            "reply",
            ctx,
            seq,
            {"text": rendered["post"], "reply": {"in_reply_to_tweet_id": last}},
        )
    ]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


_PLANNERS = {
    Channel.PAGERDUTY: _pagerduty,
    Channel.OPSGENIE: _opsgenie,
    Channel.STATUSPAGE: _statuspage,
    Channel.X: _x,
}
