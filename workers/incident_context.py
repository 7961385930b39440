"""What a notification job finds when it runs: the incident as Redis holds it now (jobs carry
ids, so a retried job reports the incident as it is), the NotificationContext built from it,
and the Occasion the channels read: the team, what the channels already carry, and which of
them the policy wants told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.cadence import next_update_due
from app.drill import DRILL, is_drill_incident
from app.merging import is_merged_child
from app.messages.context import MessageEvent, NotificationContext
from app.models import Severity
from app.ruleset import RuleSet, is_in_business_hours
from app.ruleset.components import affected_components
from app.ruleset.model import Team
from app.ruleset.vocabulary import PageMode
from app.store.changes import incident_suspects
from app.store.incidents import IncidentStore, LoadedIncident
from workers.channels import CHANNELS, Channel, Occasion, wanted
from workers.runtime import Runtime

MAX_ALERTS_IN_CONTEXT = 50  # a message lists a few; the count says how many there are


def build_context(
    store: IncidentStore,
    ruleset: RuleSet,
    incident_id: str,
    event: MessageEvent,
    reason: str,
    public_url: str,
    now: float,
    update: dict[str, Any] | None = None,
    loaded: LoadedIncident | None = None,
) -> NotificationContext | None:
    """The context for one message; `loaded` is what the job already read (load_incident)."""
    every_service = bool(ruleset.statuspage_components)
    if loaded is None or (every_service and loaded.services is None):
        loaded = store.load(incident_id, MAX_ALERTS_IN_CONTEXT, every_service)
    if loaded is None:
        return None
    incident, alerts = loaded.incident, loaded.alerts
    team = ruleset.teams.get(incident.get("team", ""))
    state = _incident(incident, loaded.alert_count, public_url, now)
    if update:  # the message reports that update, even if a later one is already stored
        state["status"] = update.get("status", state["status"])
    return NotificationContext(
        event=event,
        reason=reason,
        incident=state,
        alerts=[_alert(a) for a in alerts[:MAX_ALERTS_IN_CONTEXT]],
        team={"name": incident.get("team", ""), "description": team.description if team else ""},
        # When the next public update is due, by the comms rhythm (app/cadence.py): what
        # the templates promise, the reminder keeps.
        policy=_policy(ruleset, incident.get("severity", "SEV3"))
        | {"next_update_at": next_update_due(incident, ruleset), "slack": _slack(ruleset, state)},
        links={
            "incident": f"{public_url}/incidents/{incident_id}",
            "status_page": f"{public_url}/status",
        },
        now=now,
        update=update,
        components=_components(ruleset, incident, loaded),
        public_service=_public_service(ruleset, incident),
        changes=incident_suspects(store.connection, incident_id),  # issue 17
    )


def _public_service(ruleset: RuleSet, incident: dict[str, Any]) -> str:
    service = str(incident.get("service") or "")
    return service if service in ruleset.statuspage_components else ""


def _incident(
    data: dict[str, Any], alert_count: int, public_url: str, now: float
) -> dict[str, Any]:
    created = float(data["created_at"])
    resolved = _time(data.get("resolved_at"))
    return {
        "id": data["id"],
        "title": data.get("title", ""),
        "severity": data["severity"],
        "status": data["status"],
        "team": data.get("team", ""),
        "service": data.get("service", ""),
        "environment": data.get("environment", ""),
        "created_at": created,
        "acknowledged_at": _time(data.get("acknowledged_at")),
        "resolved_at": resolved,
        "commander": data.get("commander") or None,
        "acknowledged_by": data.get("acknowledged_by") or None,
        "tech_lead": data.get("tech_lead") or None,
        "comms_lead": data.get("comms_lead") or None,
        "change_author": data.get("change_author") or None,  # rules changes.after_release
        "url": f"{public_url}/incidents/{data['id']}",
        "duration_seconds": (resolved or now) - created,
        "alert_count": alert_count,
    }


def _alert(data: dict[str, Any]) -> dict[str, Any]:
    alert = data.get("alert") or {}
    return {
        "id": data["id"],
        "source": data.get("source", ""),
        "title": data.get("title", ""),
        "service": alert.get("service") or None,
        "environment": alert.get("environment"),
        "host": alert.get("host") or None,
        "source_severity": data.get("source_severity"),
        "status": data.get("status", ""),
        "count": int(data.get("count") or 0),
        "links": alert.get("links", []),
    }


def _components(
    ruleset: RuleSet, incident: dict[str, Any], loaded: LoadedIncident
) -> tuple[str, ...]:
    """The components of the incident's service first, then those of every alert's service."""
    if not ruleset.statuspage_components or loaded.services is None:
        return ()
    return affected_components(ruleset, [incident.get("service"), *loaded.services])


def _policy(ruleset: RuleSet, severity: str) -> dict[str, Any]:
    policy = ruleset.severities[Severity(severity)]
    return {
        "page": policy.page.value,
        "statuspage": {
            "impact": policy.statuspage_impact.value,
            "component_status": policy.component_status.value,
        },
        "x_post": policy.x_post,
        "update_every_seconds": policy.update_every_s,
        "postmortem_due_seconds": policy.postmortem_due_s,
    }


def _slack(ruleset: RuleSet, incident: dict[str, Any]) -> dict[str, Any]:
    """What rules/slack.yml says for this incident: its own channel or not, an announcement
    or not, the team's channel, and who is invited (the commander, the people its escalation
    chain pages, the team's members: Slack ids, and emails to look up)."""
    policy, severity = ruleset.slack, incident["severity"]
    team = policy.team(incident.get("team") or "")
    # The people the team's escalation chain pages by name, when rules/slack.yml knows them.
    chain = ruleset.teams.get(incident.get("team") or "")
    paged = [name for level in (chain.escalation if chain else ()) for name in level.notify]
    people = [incident.get("commander") or "", *paged]
    known = [user.user_id for name in people if (user := policy.user_for_name(name))]
    invite, emails = policy.invitees([*known, *team.members])
    return {
        "incident_channel": policy.opens_channel(severity),
        "announce": policy.announces(severity),
        "channel": team.channel,
        "invite": invite,
        "invite_emails": emails,
        "archive_after_seconds": policy.archive_after_s,
    }


def _time(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


# A drill's pages are built as PagerDuty's (the real renderer and builder) for a team whose
# routing key variable is never read: deliver_once(outbox_only=True) writes them to the outbox.
DRILL_TEAM = Team(DRILL, "fire drill (app/drill.py)", routing_key_env="KLAXON_DRILL_NO_KEY")


@dataclass(frozen=True, slots=True)
class EventToTell:
    """A lifecycle event as a job finds it: what the channels read, what they already carry,
    and which of them the policy wants told, in the order they are told."""

    occasion: Occasion
    state: dict[str, str]
    wanted: list[Channel]
    drill: bool = False  # a fire drill (app/drill.py): the outbox only, never a public channel

    @property
    def ctx(self) -> NotificationContext:
        return self.occasion.ctx

    def channels(self, public: bool) -> list[Channel]:
        """The wanted channels of one part: the public ones, or the responders'."""
        return [name for name in self.wanted if CHANNELS[name].public == public]


def load_event(
    rt: Runtime,
    incident_id: str,
    event: str,
    seq: str,
    reason: str,
    update: dict[str, Any] | None,
) -> EventToTell | None:
    """None when there is nothing to tell (no such incident, or a severity raised during
    group_wait: the declaration carries the new severity)."""
    loaded = rt.incidents.load(
        incident_id, MAX_ALERTS_IN_CONTEXT, every_service=bool(rt.ruleset.statuspage_components)
    )
    ctx = build_context(
        rt.incidents,
        rt.ruleset,
        incident_id,
        MessageEvent(event),
        reason,
        rt.settings.public_url,
        rt.clock.now(),
        update,
        loaded,
    )
    if (
        ctx is None
        or loaded is None
        or (ctx.event is MessageEvent.SEVERITY_RAISED and "declared_at" not in loaded.incident)
    ):
        return None
    state = channel_state(loaded.incident)
    # A merged child: its parent speaks for the outage (one page, one public incident). Only
    # what the child itself opened before the merge is still closed when it resolves.
    if is_merged_child(loaded.incident) and (ctx.event is not MessageEvent.RESOLVED or not state):
        return None
    if is_drill_incident(loaded.incident):
        drill = Occasion(ctx, DRILL_TEAM, seq=seq or "0")
        return EventToTell(drill, state, [Channel.PAGERDUTY], drill=True)
    team = rt.ruleset.teams.get(ctx.incident["team"])
    occasion = Occasion(
        ctx,
        team,
        rt.ruleset.teams,
        frozenset(alert["source"] for alert in ctx.alerts),
        _pages(ctx, team),
        seq or "0",
    )
    return EventToTell(occasion, state, wanted(occasion, state))


# Every incident-hash field some channel keeps (its ids and flags), read back for the next job.
CHANNEL_STATE = tuple(field for channel in CHANNELS.values() for field in channel.state_fields)


def channel_state(incident: dict[str, str]) -> dict[str, str]:
    """What the channels already carry for this incident, from its stored hash."""
    return {name: incident[name] for name in CHANNEL_STATE if incident.get(name)}


def _pages(ctx: NotificationContext, team: Team | None) -> bool:
    mode = PageMode(ctx.policy["page"])
    if mode is PageMode.NOW:
        return True
    return (
        mode is PageMode.BUSINESS_HOURS and team is not None and is_in_business_hours(team, ctx.now)
    )
