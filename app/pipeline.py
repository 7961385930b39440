"""ingest(): the only place that knows the order of the steps after a source has parsed a
delivery: (classify + route, issue #3) -> dedupe/group + store -> (enqueue on state changes).

Everything before (verify, parse) is the source's; everything after is the workers'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.models import Outcome
from app.sources import Parsed
from app.store.incidents import Correlated, Correlation, IncidentStore

# When one delivery carries several alerts (Alertmanager groups), the answer's top-level
# outcome is the most consequential one.
_OUTCOME_WEIGHT = {Outcome.NEW: 7, Outcome.GROUPED: 6, Outcome.RESOLVED: 5, Outcome.UPDATED: 4,
                   Outcome.SUPPRESSED: 3, Outcome.DUPLICATE: 2, Outcome.IGNORED: 1}


@dataclass(frozen=True, slots=True)
class Answer:
    """The receiver's 202 body."""

    outcome: Outcome
    alert: str | None = None
    incident: str | None = None
    reason: str = ""
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"outcome": self.outcome.value, "alert": self.alert,
                                "incident": self.incident}
        if self.reason:
            body["reason"] = self.reason
        if len(self.alerts) > 1:
            body["alerts"] = self.alerts
        return body


def ingest(parsed: Parsed, raw_body: bytes, store: IncidentStore) -> Answer:
    if not parsed.alerts:
        return Answer(Outcome.IGNORED, reason=parsed.ignored_reason)
    results = [store.correlate(alert, Correlation(), raw_body) for alert in parsed.alerts]
    top = max(results, key=lambda r: _OUTCOME_WEIGHT[r.outcome])
    return Answer(top.outcome, alert=top.alert_id, incident=top.incident_id, reason=top.reason,
                  alerts=[_summary(r) for r in results])


def _summary(result: Correlated) -> dict[str, Any]:
    return {"alert": result.alert_id, "outcome": result.outcome.value,
            "incident": result.incident_id}
