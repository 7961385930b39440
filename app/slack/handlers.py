"""What a `/klaxon` command or a sitrep button does: the same functions as the API and the
incident page (app/actions.py), with the Slack user as the responder the rules map them to
(rules/slack.yml). Each returns the Reply Slack shows; none calls Slack (a form to open is
named in the Reply, and the web view opens it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app import actions
from app.errors import Conflict, IncompleteResolution, PayloadError
from app.resolution import Checklist
from app.slack.commands import HELP, Command, UserRef
from app.store.incidents import ROLES, STATUSES

if TYPE_CHECKING:
    from app import Klaxon

VIA = "Slack"
__all__ = ["STATUSES", "Actor", "Reply", "actor_for", "incident_for_channel", "post_update", "run"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: their Slack id and the responder name Klaxon records."""

    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    in_channel: bool = False  # everyone in the channel sees it (an action), else only the actor
    update_form_for: str = ""  # open the status-update form for this incident
    update_status: str = ""  # the status the form starts with


def actor_for(klaxon: Klaxon, user_id: str, handle: str) -> Actor:
    """The responder a Slack user is: their rules/slack.yml name, else their handle."""
    name = klaxon.ruleset.slack.responder_name(user_id, handle or user_id)
    return Actor(user_id, name[:100])


def incident_for_channel(klaxon: Klaxon, channel_id: str) -> str:
    """The incident whose Slack channel this is (its `slack_channel`, which the Slack channel
    records when it opens the room or posts the sitrep), or ""."""
    return klaxon.incidents.with_field("slack_channel", channel_id) if channel_id else ""


def run(klaxon: Klaxon, command: Command, actor: Actor, channel_id: str) -> Reply:
    """Carry out `command` for `actor`, sent from `channel_id`."""
    if command.verb == "help":
        return Reply(HELP)
    if command.verb == "declare":
        return _declare(klaxon, command, actor)
    if command.verb == "oncall":
        return _oncall(klaxon, command.team)
    incident_id = command.incident or incident_for_channel(klaxon, channel_id)
    if not incident_id:
        return Reply(
            "This is not an incident channel: add the incident's id, "
            f"e.g. `/klaxon {command.verb} INC-2026-7`."
        )
    incident = klaxon.incidents.incident(incident_id)
    if incident is None:
        return Reply(f"There is no incident {incident_id}.")
    try:
        return _ACTIONS[command.verb](klaxon, incident_id, incident, command, actor)
    except Conflict as exc:
        return Reply(exc.message)


def _declare(klaxon: Klaxon, command: Command, actor: Actor) -> Reply:
    try:
        declaration = actions.Declaration(
            title=command.title, severity=command.severity, by=actor.name, via="slack"
        )
        incident_id = actions.declare(klaxon, declaration).incident_id or ""
    except PayloadError as exc:
        return Reply(exc.message)
    link = _page(klaxon, incident_id)
    return Reply(
        f"{actor.name} declared {command.severity} <{link}|{incident_id}>: {command.title}",
        in_channel=True,
    )


def _ack(klaxon: Klaxon, incident_id: str, _: dict[str, Any], __: Command, actor: Actor) -> Reply:
    result = actions.acknowledge(klaxon, incident_id, actor.name, via=VIA)["result"]
    words = {
        "acknowledged": f"{actor.name} acknowledged {incident_id}",
        "already_acknowledged": f"{incident_id} was already acknowledged",
        "resolved": f"{incident_id} is resolved",
    }
    return Reply(words.get(result, f"{incident_id}: {result}"), in_channel=result == "acknowledged")


def _ic(
    klaxon: Klaxon, incident_id: str, incident: dict[str, Any], command: Command, actor: Actor
) -> Reply:
    actions.require_open(incident_id, incident)
    commander = _name(klaxon, command.user) if command.user else actor.name
    actions.take_command(klaxon, incident_id, commander, by=actor.name)
    return Reply(f"{commander} is incident commander of {incident_id}", in_channel=True)


def _role(
    klaxon: Klaxon, incident_id: str, incident: dict[str, Any], command: Command, actor: Actor
) -> Reply:
    actions.require_open(incident_id, incident)
    name = _name(klaxon, command.user)
    result = actions.assign_role(klaxon, incident_id, command.role, name, by=actor.name)
    if result["result"] == "unchanged":
        return Reply(f"{name} already is {ROLES[command.role]}")
    return Reply(f"{name} is {ROLES[command.role]} of {incident_id}", in_channel=True)


def _update(
    klaxon: Klaxon, incident_id: str, incident: dict[str, Any], command: Command, actor: Actor
) -> Reply:
    actions.require_open(incident_id, incident)
    if not command.message:
        return Reply("", update_form_for=incident_id, update_status=command.status)
    return post_update(klaxon, incident_id, command.status, command.message, actor)


def post_update(klaxon: Klaxon, incident_id: str, status: str, message: str, actor: Actor) -> Reply:
    """A status update, from the command or the form."""
    result = klaxon.post_update(incident_id, status, message, actor.name)
    if result["result"] != "updated":
        return Reply(f"{incident_id} is resolved; declare a new incident instead")
    return Reply(f"{actor.name} posted an update to {incident_id}: {status}", in_channel=True)


def _sev(
    klaxon: Klaxon, incident_id: str, incident: dict[str, Any], command: Command, actor: Actor
) -> Reply:
    actions.require_open(incident_id, incident)
    result = actions.change_severity(klaxon, incident_id, command.severity, by=actor.name)
    if result["result"] == "unchanged":
        return Reply(f"{incident_id} already is {command.severity}")
    return Reply(f"{actor.name} set {incident_id} to {command.severity}", in_channel=True)


def _resolve(
    klaxon: Klaxon, incident_id: str, _: dict[str, Any], command: Command, actor: Actor
) -> Reply:
    checklist = Checklist(data_loss=command.data_loss)
    try:
        result = actions.resolve(klaxon, incident_id, actor.name, command.message, checklist)
    except IncompleteResolution as exc:  # the severity's policy wants more: nothing changed
        return Reply(
            f"{incident_id} is not resolved: {exc.message}. Say it in the command: "
            "`/klaxon resolve no-data-lost <what happened>` (or `data-lost`)."
        )
    if result == "resolved":
        return Reply(f"{actor.name} resolved {incident_id}", in_channel=True)
    return Reply(f"{incident_id} is already resolved")


def _status(
    klaxon: Klaxon, incident_id: str, incident: dict[str, Any], _: Command, __: Actor
) -> Reply:
    lines = [
        f"*{incident_id}* {incident.get('severity', '')} {incident.get('status', '')}: "
        f"{incident.get('title', '')}",
        f"Commander: {incident.get('commander') or 'nobody yet'}",
    ]
    lines += [
        f"{words.capitalize()}: {incident[role]}"
        for role, words in ROLES.items()
        if incident.get(role)
    ]
    acked = incident.get("acknowledged_by")
    lines.append(f"Acknowledged by {acked}" if acked else "Not acknowledged")
    lines.append(f"<{_page(klaxon, incident_id)}|Incident page>")
    return Reply("\n".join(lines))


def _oncall(klaxon: Klaxon, team_name: str) -> Reply:
    """Who a team pages, as the rules say; without a team, every team."""
    teams = klaxon.ruleset.teams
    if team_name and team_name not in teams:
        return Reply(f"No team {team_name!r}; teams are " + ", ".join(sorted(teams)))
    lines = []
    for name in [team_name] if team_name else sorted(teams):
        team = teams[name]
        pages = [
            *(["PagerDuty"] if team.routing_key_env else []),
            *([f"Opsgenie {team.opsgenie_team}"] if team.opsgenie_team else []),
        ]
        steps = [
            f"after {level.after_s // 60} min: {', '.join(level.notify)}"
            for level in team.escalation
        ]
        lines.append(
            f"*{name}*: pages {', '.join(pages) or 'nobody (outbox)'}"
            + (f"; escalates {'; '.join(steps)}" if steps else "")
        )
    return Reply("\n".join(lines))


def _name(klaxon: Klaxon, user: UserRef | None) -> str:
    """The responder name of a user named in a command."""
    if user is None:
        return ""
    if user.user_id:
        return klaxon.ruleset.slack.responder_name(user.user_id, user.handle or user.user_id)[:100]
    return user.handle[:100]


def _page(klaxon: Klaxon, incident_id: str) -> str:
    return f"{klaxon.settings.public_url}/incidents/{incident_id}"


_ACTIONS = {
    "ack": _ack,
    "ic": _ic,
    "role": _role,
    "update": _update,
    "sev": _sev,
    "resolve": _resolve,
    "status": _status,
}
