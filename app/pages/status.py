"""What the public status page and its Atom feed show, built from the incidents in Redis.

Only fields meant for the public reach the page (see docs/decisions.md, "Public status page"):
  - an incident is public when its severity's policy has a Statuspage impact (rules/
    severities.yml: SEV1 and SEV2 by default), the same test the Statuspage channel uses;
  - its public title is derived, never the alert title: "<impact>: <component>", e.g.
    "Partial outage: Checkout API";
  - a component is the incident's service, written for people ("checkout-api" -> "Checkout
    API"), when rules/ declare that service (statuspage.components), else "General": an
    alert's labels never name a public component; its status is the worst policy component
    status among its open incidents;
  - the text shown is what responders wrote *for* customers (status updates) and the reason of
    a maintenance window, each through the public guard: hosts, addresses, emails, people's
    names and anything secret-looking are redacted. Alert titles, payloads, timelines, teams
    and responders never leave the internal pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.drill import is_drill_incident
from app.messages.public_guard import Known, redact, scan
from app.messages.wording import impact_title
from app.models import Severity
from app.plaintext import clean
from app.ruleset import RuleSet
from app.ruleset.vocabulary import ComponentStatus, StatuspageImpact
from app.store.incidents import IncidentStore
from app.store.maintenance import Maintenance

DAY = 24 * 3600
HISTORY_SECONDS = 14 * DAY
MAX_SCANNED = 500  # incidents looked at for the history; a fortnight rarely holds more
NOT_PEOPLE = frozenset({"", "API", "web", "quiet period"})
ACRONYMS = frozenset({"api", "cdn", "db", "dns", "etl", "id", "sdk", "sso", "ui", "vpn", "www"})
# Worst first: the overall state is the worst any component is in.
ORDER = (
    ComponentStatus.MAJOR_OUTAGE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.DEGRADED_PERFORMANCE,
    ComponentStatus.UNDER_MAINTENANCE,
    ComponentStatus.OPERATIONAL,
)
OVERALL = {
    ComponentStatus.MAJOR_OUTAGE: "Major outage",
    ComponentStatus.PARTIAL_OUTAGE: "Partial outage",
    ComponentStatus.DEGRADED_PERFORMANCE: "Degraded performance",
    ComponentStatus.UNDER_MAINTENANCE: "Maintenance in progress",
    ComponentStatus.OPERATIONAL: "All systems operational",
}
LABEL = {
    **OVERALL,
    ComponentStatus.UNDER_MAINTENANCE: "Under maintenance",
    ComponentStatus.OPERATIONAL: "Operational",
}
GENERAL = "General"  # the component of an incident without a service


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    at: float
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class PublicIncident:
    id: str
    title: str
    status: str
    component: str
    component_status: ComponentStatus
    impact: StatuspageImpact
    started_at: float
    updated_at: float
    resolved_at: float | None
    updates: tuple[PublicUpdate, ...]  # newest first

    @property
    def resolution(self) -> str:
        """What the resolved incident's own resolution update said ("" if none was posted):
        never an earlier "Monitoring" one."""
        return next((u.message for u in self.updates if u.status == "resolved"), "")


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    status: ComponentStatus

    @property
    def label(self) -> str:
        return LABEL[self.status]


@dataclass(frozen=True, slots=True)
class StatusPage:
    overall: ComponentStatus
    components: tuple[Component, ...]
    open: tuple[PublicIncident, ...]
    history: tuple[PublicIncident, ...]
    maintenance: dict[str, Any] | None
    now: float

    @property
    def headline(self) -> str:
        return OVERALL[self.overall]


def status_page(
    store: IncidentStore,
    ruleset: RuleSet,
    maintenance: Maintenance | None,
    now: float,
    public_url: str,
    scheduled_under_way: tuple[str, ...] = (),
) -> StatusPage:
    """`scheduled_under_way`: components in a rules/ maintenance window now
    (app/pages/schedule.py); they show as under maintenance unless an incident is worse."""
    public_hosts = (urlsplit(public_url).hostname or "",)
    incidents = [_public(store, ruleset, i, public_hosts) for i in _recent(store, now)]
    shown = [i for i in incidents if i is not None]
    open_ = tuple(i for i in shown if i.resolved_at is None)
    # Newest first by when each ended: the index is ordered by when incidents opened.
    history = tuple(
        sorted(
            (i for i in shown if i.resolved_at is not None),
            key=lambda i: i.resolved_at or 0.0,
            reverse=True,
        )
    )
    window = _maintenance(maintenance, public_hosts, ruleset)
    components = _components(shown, window, scheduled_under_way)
    states = [c.status for c in components] + [ComponentStatus.OPERATIONAL]
    in_maintenance = window is not None or bool(scheduled_under_way)
    overall = min(
        states + ([ComponentStatus.UNDER_MAINTENANCE] if in_maintenance else []), key=ORDER.index
    )
    return StatusPage(overall, components, open_, history, window, now)


def quiet_since(now: float) -> float:
    """What "last changed" says when nothing shown has a time: the start of the history
    window in whole days, so it stays put for a day instead of moving with every request."""
    return (now - HISTORY_SECONDS) // DAY * DAY


def component_name(service: str) -> str:
    """A service written for people: "checkout-api" -> "Checkout API"."""
    words = [w for w in re.split(r"[-_\s]+", service.strip()) if w]
    if not words:
        return GENERAL
    return " ".join(w.upper() if w.lower() in ACRONYMS else w[:1].upper() + w[1:] for w in words)


def public_component(ruleset: RuleSet, service: str, known: Known) -> str:
    """The component an incident shows under: its service, written for people, only when the
    rules declare that service (statuspage.components). Any other service name came from an
    alert's labels -- anyone who can send an alert could choose it -- so it shows as General."""
    if not service or service not in ruleset.statuspage_components:
        return GENERAL
    return guarded(component_name(service), known) or GENERAL


def declared_components(ruleset: RuleSet) -> dict[str, str]:
    """Each service rules/ declare (statuspage.components) -> its public component name."""
    names = {s: public_component(ruleset, s, Known()) for s in ruleset.statuspage_components}
    return {s: n for s, n in names.items() if n != GENERAL}


def _recent(store: IncidentStore, now: float) -> list[dict[str, Any]]:
    """Open incidents and those resolved in the last 14 days, newest first."""
    found = []
    for incident_id in store.incident_ids(MAX_SCANNED):
        incident = store.incident(incident_id)
        if incident is None:
            continue
        resolved = incident.get("resolved_at")
        if incident.get("status") != "resolved" or (
            resolved and float(resolved) >= now - HISTORY_SECONDS
        ):
            found.append(incident)
    return found


def _public(
    store: IncidentStore, ruleset: RuleSet, incident: dict[str, Any], public_hosts: tuple[str, ...]
) -> PublicIncident | None:
    policy = ruleset.severities.get(Severity(incident["severity"]))
    if (
        policy is None
        or policy.statuspage_impact is StatuspageImpact.NONE
        or is_drill_incident(incident)  # a fire drill is nobody's business outside
    ):
        return None
    timeline = store.timeline(incident["id"])
    known = _known(store, incident, timeline, public_hosts)
    component = public_component(ruleset, incident.get("service", ""), known)
    updates = tuple(
        PublicUpdate(
            e["at"], e["data"].get("status", ""), guarded(str(e["data"].get("message", "")), known)
        )
        for e in reversed(timeline)
        if e["kind"] == "status_update"
    )
    resolved = incident.get("resolved_at")
    return PublicIncident(
        id=incident["id"],
        title=f"{impact_title(policy.component_status)}: {component}",
        status=incident["status"],
        component=component,
        component_status=policy.component_status,
        impact=policy.statuspage_impact,
        started_at=float(incident["created_at"]),
        updated_at=max(
            [float(incident["created_at"])]
            + [u.at for u in updates]
            + ([float(resolved)] if resolved else [])
        ),
        resolved_at=float(resolved) if resolved else None,
        updates=updates,
    )


def _known(
    store: IncidentStore,
    incident: dict[str, Any],
    timeline: list[dict[str, Any]],
    public_hosts: tuple[str, ...],
) -> Known:
    """Everyone and every host named on the incident: the guard redacts them by name."""
    people = {incident.get("commander") or "", incident.get("acknowledged_by") or ""}
    people |= {str(e["data"].get(k) or "") for e in timeline for k in ("by", "assigned_by")}
    hosts = {
        str((a.get("alert") or {}).get("host") or "") for a in store.incident_alerts(incident["id"])
    }
    return Known(
        people=tuple(sorted(people - NOT_PEOPLE)),
        hosts=tuple(sorted(hosts - {""})),
        public_hosts=public_hosts,
    )


def guarded(text: str, known: Known) -> str:
    # Service names are public here: the page names components after them. clean() again for
    # text stored before it was cleaned on the way in: the feed must stay XML.
    text = clean(text)
    return redact(text, scan(text, known, allowed=("services",)))


def _maintenance(
    window: Maintenance | None, public_hosts: tuple[str, ...], ruleset: RuleSet
) -> dict[str, Any] | None:
    if window is None:
        return None
    known = Known(people=tuple({window.by} - NOT_PEOPLE), public_hosts=public_hosts)
    return {
        "components": sorted(
            {public_component(ruleset, s, known) for s in window.services} - {GENERAL}
        ),
        "reason": guarded(window.reason, known),
        "started_at": window.started_at,
        "until": window.until,
    }


def _components(
    incidents: list[PublicIncident],
    window: dict[str, Any] | None,
    scheduled_under_way: tuple[str, ...] = (),
) -> tuple[Component, ...]:
    """Every component with a public incident in the last 14 days, at its worst open status;
    components under maintenance say so unless an incident is worse."""
    worst: dict[str, ComponentStatus] = {}
    for incident in incidents:
        status = (
            incident.component_status
            if incident.resolved_at is None
            else ComponentStatus.OPERATIONAL
        )
        current = worst.get(incident.component, ComponentStatus.OPERATIONAL)
        worst[incident.component] = min(current, status, key=ORDER.index)
    for name in [*(window or {}).get("components", []), *scheduled_under_way]:
        worst[name] = min(
            worst.get(name, ComponentStatus.UNDER_MAINTENANCE),
            ComponentStatus.UNDER_MAINTENANCE,
            key=ORDER.index,
        )
    return tuple(Component(n, s) for n, s in sorted(worst.items()))
