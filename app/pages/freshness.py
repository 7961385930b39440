"""ETag and Last-Modified for the public status documents (the Atom feed and /api/v2), worked
out without building them: a poller asking "anything new?" every 30 s during an outage costs
three Redis round trips and a 304, not the incidents' timelines.

The version is a hash of everything the documents are built from: each recent incident's id
and updated_at (every change to an incident moves it, app/store/*.lua), whether a resolved one
is still inside the 14-day history, the maintenance `klaxon maintenance` switched on, where the
rules' maintenance windows stand, the rules version and the page's name and URL. A change it
sees that the documents do not show (an escalation) only costs one full answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from email.utils import formatdate

from flask import Request, Response

from app.pages.schedule import ScheduledWindow
from app.pages.status import HISTORY_SECONDS, MAX_SCANNED, quiet_since
from app.ruleset import RuleSet
from app.store.incidents import IncidentStore
from app.store.maintenance import Maintenance


@dataclass(frozen=True, slots=True)
class Freshness:
    version: str
    last_modified: float  # whole seconds: what HTTP dates can say

    def etag(self, document: str) -> str:
        return hashlib.sha256(f"{document}:{self.version}".encode()).hexdigest()[:32]

    def not_modified(self, request: Request, document: str) -> bool:
        """The client's copy is current (RFC 9110 §13.2.2: If-None-Match, when sent, decides;
        If-Modified-Since only counts without it)."""
        if request.if_none_match:
            return request.if_none_match.contains_weak(self.etag(document))
        since = request.if_modified_since
        return since is not None and self.last_modified <= since.timestamp()

    def stamp(self, response: Response, document: str) -> Response:
        response.set_etag(self.etag(document))
        response.headers["Last-Modified"] = formatdate(self.last_modified, usegmt=True)
        return response


def status_freshness(
    store: IncidentStore,
    ruleset: RuleSet,
    current: Maintenance | None,
    windows: tuple[ScheduledWindow, ...],
    now: float,
    page: tuple[str, str],
) -> Freshness:
    cutoff = now - HISTORY_SECONDS
    incidents = []
    changed = [quiet_since(now)]
    for incident_id, updated, resolved in store.change_stamps(MAX_SCANNED):
        shown = resolved is None or resolved >= cutoff
        incidents.append((incident_id, updated, shown))
        # An incident leaving the history changes the documents when it leaves.
        changed.append(updated if shown else (resolved or 0) + HISTORY_SECONDS)
    window_states = [(w.id, w.status(now)) for w in windows]
    for window in windows:
        changed += [t for t in (window.scheduled_for, window.scheduled_until) if t and t <= now]
    maintenance = None
    if current is not None:
        maintenance = [current.services, current.reason, current.started_at, current.until]
    version = json.dumps(
        [str(ruleset.version), page, incidents, maintenance, window_states],
        default=str,
    )
    return Freshness(hashlib.sha256(version.encode()).hexdigest(), float(int(max(changed))))
