"""The public comms rhythm (the severity policy's update_every and comms, rules/severities.yml):
when the first public post and each next status update are due, when the commander is
reminded, and what the update reminder does when it fires. The one computation the reminder
(workers/incident_timers.py), the incident page's header, the status page and the templates'
"next update by" all use, so none promises a different time than the reminder keeps. Pure:
incident hashes, the rules and times in; times and decisions out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.messages.wording import impact_effect, impact_noun, utc
from app.models import Severity
from app.ruleset import RuleSet
from app.ruleset.model import CommsPolicy, SeverityPolicy


def policy_for(ruleset: RuleSet | None, severity: str) -> SeverityPolicy | None:
    if ruleset is None or severity not in {s.value for s in Severity}:
        return None
    return ruleset.severities.get(Severity(severity))


def update_interval(
    ruleset: RuleSet | None, severity: str, since_declared: float = 0.0
) -> int | None:
    """Seconds between status updates the severity's policy asks for, `since_declared` seconds
    into the incident (the long-incident interval once it has run long); None: no rhythm."""
    policy = policy_for(ruleset, severity)
    if policy is None or not policy.update_every_s:
        return None
    comms = policy.comms
    if (
        comms.long_incident_after_s is not None
        and comms.long_incident_update_every_s
        and since_declared >= comms.long_incident_after_s
    ):
        return comms.long_incident_update_every_s
    return policy.update_every_s


def comms_of(ruleset: RuleSet | None, severity: str) -> CommsPolicy:
    policy = policy_for(ruleset, severity)
    return policy.comms if policy is not None else CommsPolicy()


def last_update_at(incident: Mapping[str, str], default: float) -> float:
    """The last status update, else when responders were told (declared), else `default`."""
    return float(incident.get("last_update_at") or incident.get("declared_at") or default)


def awaiting_first_post(incident: Mapping[str, str], ruleset: RuleSet | None) -> bool:
    """No status update yet, and the policy sets a deadline for the first public post."""
    comms = comms_of(ruleset, incident.get("severity", ""))
    return comms.first_post_within_s is not None and not incident.get("last_update_at")


def next_update_due(incident: Mapping[str, str], ruleset: RuleSet | None) -> float | None:
    """When the next public post is due: the first post's deadline until there is one, then
    the last update plus the interval in force at that time. None when the incident is
    resolved, not yet declared, or its severity has no rhythm."""
    if incident.get("status") in (None, "", "resolved") or not incident.get("declared_at"):
        return None
    declared = float(incident["declared_at"])
    severity = incident.get("severity", "")
    if awaiting_first_post(incident, ruleset):
        return declared + (comms_of(ruleset, severity).first_post_within_s or 0)
    last = last_update_at(incident, declared)
    every = update_interval(ruleset, severity, last - declared)
    return None if every is None else last + every


def first_reminder_at(incident: Mapping[str, str], ruleset: RuleSet | None) -> float | None:
    """When the update reminder first fires: ahead of the due time by remind_before (never
    before the declaration), or at it."""
    due = next_update_due(incident, ruleset)
    if due is None:
        return None
    before = comms_of(ruleset, incident.get("severity", "")).remind_before_s or 0
    return max(due - before, float(incident["declared_at"]))


@dataclass(frozen=True, slots=True)
class ReminderStep:
    """What the update reminder does when it fires:
    wait        an update came in since it was set: only set it again, for `next_at`
    due_soon    remind the commander that an update is due at `due` (before it is)
    first_post  nobody posted by the first post's deadline: publish the drafted one
    overdue     remind the commander that the update due at `due` is late
    stop        nothing to chase (resolved, or no rhythm)"""

    action: str
    due: float = 0.0
    next_at: float | None = None  # when the reminder fires next; None: it stops


def reminder_step(
    incident: Mapping[str, str], ruleset: RuleSet | None, fired_at: float
) -> ReminderStep:
    due = next_update_due(incident, ruleset)
    if due is None:
        return ReminderStep("stop")
    comms = comms_of(ruleset, incident.get("severity", ""))
    before = comms.remind_before_s or 0
    if fired_at < due - before - 1:  # an update moved the due time on
        return ReminderStep("wait", due, max(due - before, fired_at))
    if before and fired_at < due - 1:
        return ReminderStep("due_soon", due, due)  # and again at due, if still nothing came
    declared = float(incident.get("declared_at") or fired_at)
    if awaiting_first_post(incident, ruleset) and comms.auto_first_post:
        return ReminderStep("first_post", due, _after_post(incident, ruleset, fired_at))
    # Overdue: chased again one interval later, until an update comes in.
    every = update_interval(ruleset, incident.get("severity", ""), fired_at - declared)
    return ReminderStep("overdue", due, fired_at + every if every else None)


def _after_post(incident: Mapping[str, str], ruleset: RuleSet | None, posted_at: float) -> float:
    """When the reminder fires after a post at `posted_at`."""
    after = {**incident, "last_update_at": repr(posted_at)}
    return first_reminder_at(after, ruleset) or posted_at


# The first public post Klaxon publishes when nobody posted one by the deadline (comms.
# auto_first_post): the same public words the Statuspage "declared" template uses (impact,
# component, effect), never an alert's text. When the next update comes is said beside it,
# as beside every update (the status page, and each channel's update template).
FIRST_POST = "We're investigating {impact}{where}. {effect}"
FIRST_POST_BY = "Klaxon"  # the author on the timeline: nobody typed it


def first_post_draft(severity: str, ruleset: RuleSet | None, component: str = "") -> str:
    """The drafted first post of an incident of `severity` on the public `component` (""
    when it has none: app/pages/status.public_component)."""
    policy = policy_for(ruleset, severity)
    status = policy.component_status.value if policy is not None else ""
    return FIRST_POST.format(
        impact=impact_noun(status),
        where=f" affecting {component}" if component else "",
        effect=impact_effect(status),
    )


def next_update_sentence(due: float | None) -> str:
    """What every public update says about the next one (the templates say the same)."""
    if due is None:
        return "We'll post an update as soon as we know more."
    return f"We'll post the next update by {utc(due)}."
