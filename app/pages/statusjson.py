"""The public status as Atlassian Statuspage's public JSON (`/api/v2/*.json`), so widgets,
bots and status aggregators written for Statuspage read Klaxon unchanged. Pure: built from the
same StatusPage the HTML page shows (app/pages/status.py), so it shows exactly what is public
there and nothing more. Where the documents differ from Statuspage's: docs/status-api.md.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from app.messages.wording import iso
from app.pages.schedule import ScheduledWindow
from app.pages.status import ORDER, PublicIncident, StatusPage, quiet_since
from app.ruleset.vocabulary import ComponentStatus, StatuspageImpact

# Statuspage's own descriptions of each indicator.
DESCRIPTION = {
    StatuspageImpact.NONE: "All Systems Operational",
    StatuspageImpact.MINOR: "Minor Service Outage",
    StatuspageImpact.MAJOR: "Partial System Outage",
    StatuspageImpact.CRITICAL: "Major Service Outage",
}
UNDER_MAINTENANCE = "Service Under Maintenance"
IMPACTS = tuple(StatuspageImpact)  # least to worst


@dataclass(frozen=True, slots=True)
class PageInfo:
    name: str
    url: str  # the deployment's public URL; the page itself is at url + "/status"

    @property
    def id(self) -> str:
        """Stable for a deployment, shaped like Statuspage's 12-character ids."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "general"


class StatusDocuments:
    """Every /api/v2 document from one look at the status."""

    def __init__(
        self,
        info: PageInfo,
        page: StatusPage,
        declared: tuple[str, ...],
        windows: tuple[ScheduledWindow, ...],
    ) -> None:
        self.info = info
        self.page = page
        self.windows = windows
        self._declared = declared

    # -- documents -------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        return {
            **self._page(),
            "status": self._status(),
            "components": self._components(),
            "incidents": [self._incident(i) for i in self._unresolved()],
            "scheduled_maintenances": [
                self._maintenance(w)
                for w in self.windows
                if w.status(self.page.now) in ("scheduled", "in_progress")
            ],
        }

    def status(self) -> dict[str, Any]:
        return {**self._page(), "status": self._status()}

    def components(self) -> dict[str, Any]:
        return {**self._page(), "components": self._components()}

    def incidents(self, unresolved_only: bool = False) -> dict[str, Any]:
        chosen = self._unresolved() if unresolved_only else self._all()
        return {**self._page(), "incidents": [self._incident(i) for i in chosen]}

    def scheduled_maintenances(self, which: str = "") -> dict[str, Any]:
        """which: "" every window shown, "scheduled" upcoming, "in_progress" active."""
        now = self.page.now
        chosen = [w for w in self.windows if not which or w.status(now) == which]
        if not which:
            chosen.sort(key=lambda w: w.scheduled_for, reverse=True)
        return {**self._page(), "scheduled_maintenances": [self._maintenance(w) for w in chosen]}

    def updated_at(self) -> float:
        """When anything shown last changed: the newest incident change or window edge."""
        now = self.page.now
        edges = [w.scheduled_for for w in self.windows if w.scheduled_for <= now]
        edges += [
            w.scheduled_until
            for w in self.windows
            if w.scheduled_until and w.scheduled_until <= now
        ]
        times = [i.updated_at for i in self._all()] + edges
        return max(times, default=quiet_since(now))

    # -- parts -----------------------------------------------------------------------------

    def _page(self) -> dict[str, Any]:
        return {
            "page": {
                "id": self.info.id,
                "name": self.info.name,
                "url": f"{self.info.url}/status",
                "time_zone": "Etc/UTC",
                "updated_at": _time(self.updated_at()),
            }
        }

    def _status(self) -> dict[str, str]:
        impacts = [i.impact for i in self._unresolved()]
        worst = max(impacts, key=IMPACTS.index, default=StatuspageImpact.NONE)
        maintenance = any(w.status(self.page.now) == "in_progress" for w in self.windows)
        description = (
            UNDER_MAINTENANCE
            if worst is StatuspageImpact.NONE and maintenance
            else DESCRIPTION[worst]
        )
        return {"indicator": str(worst), "description": description}

    def _component_states(self) -> dict[str, ComponentStatus]:
        """Every declared component, and any other with a public incident (General), at its
        worst status now: an open incident's, else under maintenance during a window."""
        states = {name: ComponentStatus.OPERATIONAL for name in self._declared}
        for component in self.page.components:
            states[component.name] = min(
                states.get(component.name, ComponentStatus.OPERATIONAL),
                component.status,
                key=ORDER.index,
            )
        for window in self.windows:
            if window.status(self.page.now) != "in_progress":
                continue
            for name in window.components:
                states[name] = min(
                    states.get(name, ComponentStatus.OPERATIONAL),
                    ComponentStatus.UNDER_MAINTENANCE,
                    key=ORDER.index,
                )
        return states

    def _components(self) -> list[dict[str, Any]]:
        states = self._component_states()
        return [
            self._component(name, status, n)
            for n, (name, status) in enumerate(sorted(states.items()), 1)
        ]

    def _component(self, name: str, status: ComponentStatus, position: int = 0) -> dict[str, Any]:
        changed = max(
            (i.updated_at for i in self._all() if i.component == name),
            default=quiet_since(self.page.now),
        )
        return {
            "id": slug(name),
            "name": name,
            "status": str(status),
            "created_at": _time(changed),
            "updated_at": _time(changed),
            "position": position,
            "description": None,
            "showcase": True,
            "start_date": None,
            "group_id": None,
            "page_id": self.info.id,
            "group": False,
            "only_show_if_degraded": False,
        }

    def _incident(self, incident: PublicIncident) -> dict[str, Any]:
        updates = incident.updates
        monitoring = [u.at for u in updates if u.status == "monitoring"]
        component = self._component(
            incident.component,
            incident.component_status
            if incident.resolved_at is None
            else ComponentStatus.OPERATIONAL,
        )
        return {
            "id": incident.id,
            "name": incident.title,
            "status": incident.status,
            "created_at": _time(incident.started_at),
            "updated_at": _time(incident.updated_at),
            "monitoring_at": _time(min(monitoring)) if monitoring else None,
            "resolved_at": _time(incident.resolved_at) if incident.resolved_at else None,
            "impact": str(incident.impact),
            "shortlink": f"{self.info.url}/status#{incident.id}",
            "started_at": _time(incident.started_at),
            "page_id": self.info.id,
            "incident_updates": [
                {
                    "id": f"{incident.id}-{len(updates) - n}",
                    "status": u.status,
                    "body": u.message,
                    "incident_id": incident.id,
                    "created_at": _time(u.at),
                    "updated_at": _time(u.at),
                    "display_at": _time(u.at),
                    "affected_components": None,
                    "deliver_notifications": True,
                    "custom_tweet": None,
                    "tweet_id": None,
                }
                for n, u in enumerate(updates)
            ],
            "components": [component],
        }

    def _maintenance(self, window: ScheduledWindow) -> dict[str, Any]:
        now = self.page.now
        status = window.status(now)
        edge = window.scheduled_until if status == "completed" else window.scheduled_for
        updated = min(edge or now, now) if status != "scheduled" else window.created_at
        body = window.body or "Scheduled maintenance."
        update = {
            "id": f"{window.id}-1",
            "status": status,
            "body": body,
            "incident_id": window.id,
            "created_at": _time(window.created_at),
            "updated_at": _time(updated),
            "display_at": _time(window.created_at),
            "affected_components": None,
            "deliver_notifications": True,
            "custom_tweet": None,
            "tweet_id": None,
        }
        return {
            "id": window.id,
            "name": window.name,
            "status": status,
            "created_at": _time(window.created_at),
            "updated_at": _time(updated),
            "monitoring_at": None,
            "resolved_at": _time(window.scheduled_until)
            if status == "completed" and window.scheduled_until
            else None,
            "impact": "maintenance",
            "shortlink": f"{self.info.url}/status",
            "started_at": _time(window.scheduled_for),
            "page_id": self.info.id,
            "incident_updates": [update],
            "components": [
                self._component(
                    name, self._component_states().get(name, ComponentStatus.OPERATIONAL)
                )
                for name in window.components
            ],
            "scheduled_for": _time(window.scheduled_for),
            "scheduled_until": _time(window.scheduled_until) if window.scheduled_until else None,
        }

    def _all(self) -> list[PublicIncident]:
        """Newest first, as Statuspage lists them."""
        return sorted(self.page.open + self.page.history, key=lambda i: i.started_at, reverse=True)

    def _unresolved(self) -> list[PublicIncident]:
        return [i for i in self._all() if i.resolved_at is None]


def _time(epoch: float) -> str:
    """Statuspage writes times with milliseconds and an offset: 2026-03-14T09:14:00.000Z."""
    return iso(epoch).replace("Z", ".000Z")
