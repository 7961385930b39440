"""What each timer does when it falls due (the process the runbooks write down):

    declare:<id>     group_wait is over: tell responders; start the ack and update clocks
    escalate:<id>    nobody acknowledged in time: page the next level of the team's chain
    remind:<id>      no status update for the severity's interval: chase the commander
    postmortem:<id>  the post-mortem is still a draft when due: chase the commander
    resolve:<id>     every alert stayed resolved through the quiet period: resolve

Each first changes state in Redis idempotently, then enqueues the notification only if it
changed something, so firing twice has no effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis

from app.cadence import last_update_at, update_interval
from app.logs import log
from app.models import Severity
from app.notifications import enqueue_notification
from app.ruleset import RuleSet
from app.store import keys, replies
from app.store.incidents import Declaration, IncidentStore, Lifecycle, Resolution
from app.store.timers import Timer, Timers

R = TypeVar("R", bound=str)  # what the store answered, logged as it passes
logger = logging.getLogger("klaxon.timers")
# What start_clocks, _step and _policy read of the incident.
CLOCK_FIELDS = ("id", "status", "declared_at", "team", "acknowledged_at", "severity")


@dataclass
class IncidentTimers:
    connection: redis.Redis
    incidents: IncidentStore
    ruleset: RuleSet | None  # None: no escalation chains or cadences (rules not loaded)

    def handlers(self) -> dict[str, Callable[[Timer], None]]:
        return {
            "declare": self.declare,
            "escalate": self.escalate,
            "remind": self.remind,
            "postmortem": self.postmortem,
            "resolve": self.resolve,
        }

    def declare(self, timer: Timer) -> None:
        if self._logged(timer, self.incidents.declare(timer.incident_id)) is Declaration.DECLARED:
            self._notify(timer.incident_id, "declared", "", "first notification after group_wait")

    def start_clocks(self, incident_id: str) -> None:
        """Once responders are told: the ack clock (escalation) and the update clock start.
        Called by the declared notification job; scheduling again changes nothing."""
        # Read again (not the job's copy): the incident may have been resolved meanwhile.
        # Only the fields the clocks need, not the whole hash.
        values = self.connection.hmget(keys.incident(incident_id), CLOCK_FIELDS)
        incident = {
            name: replies.text(v)
            for name, v in zip(CLOCK_FIELDS, values, strict=True)
            if v is not None
        }
        if incident.get("status", "resolved") == "resolved":
            return  # resolved before this job ran: nothing left to chase
        if not incident.get("declared_at"):
            return
        declared, due = float(incident["declared_at"]), {}
        step = self._step(incident, level=1)
        if step is not None:
            due["escalate"] = declared + step[0]
        every = self._policy(incident, "update_every_s")
        if every:
            due["remind"] = declared + every
        Timers(self.connection).schedule_all(incident_id, due)  # both clocks, one call

    def escalate(self, timer: Timer) -> None:
        incident = self.incidents.incident(timer.incident_id) or {}
        level = int(incident.get("escalation_level") or 0) + 1
        step = self._step(incident, level)
        if step is None:
            return
        after, targets = step
        result = self.incidents.escalate(
            timer.incident_id, level, ", ".join(targets), waited=_span(after)
        )
        if self._logged(timer, result) is Lifecycle.ESCALATED:
            self._notify(
                timer.incident_id,
                "escalated",
                str(level),
                f"not acknowledged after {_span(after)}; escalated to {', '.join(targets)}",
                {"level": level, "escalated_to": targets},
            )
            self._schedule_escalation(incident, level + 1)

    def remind(self, timer: Timer) -> None:
        incident = self.incidents.incident(timer.incident_id) or {}
        every = update_interval(self.ruleset, incident.get("severity", ""))
        if not every or incident.get("status") in (None, "resolved"):
            return
        last = last_update_at(incident, timer.due)  # the page shows last + every as due
        if last + every > timer.due + 1:  # an update came in: the next reminder counts from it
            Timers(self.connection).schedule("remind", timer.incident_id, last + every)
            return
        who = incident.get("commander") or f"team {incident.get('team', '')}"
        message = f"status update overdue: none for {_span(timer.due - last)}; {who} reminded"
        if (
            self._logged(
                timer,
                self.incidents.remind(timer.incident_id, "update", message, who, repr(timer.due)),
            )
            is Lifecycle.REMINDED
        ):
            self._notify(timer.incident_id, "reminder", repr(timer.due), "update_overdue")
        Timers(self.connection).schedule("remind", timer.incident_id, timer.due + every)

    def postmortem(self, timer: Timer) -> None:
        incident = self.incidents.incident(timer.incident_id) or {}
        if incident.get("postmortem_status", "draft") != "draft":
            return
        who = incident.get("commander") or f"team {incident.get('team', '')}"
        message = f"post-mortem still a draft when due; {who} reminded"
        if (
            self._logged(
                timer,
                self.incidents.remind(
                    timer.incident_id, "postmortem", message, who, repr(timer.due)
                ),
            )
            is Lifecycle.REMINDED
        ):
            self._notify(
                timer.incident_id, "reminder", "postmortem-" + repr(timer.due), "postmortem_overdue"
            )

    def resolve(self, timer: Timer) -> None:
        result = self.incidents.resolve(timer.incident_id, by="quiet period")
        # Never declared (resolved before group_wait ended): nobody was told it began, so
        # nobody is told it ended.
        if self._logged(timer, result) is Resolution.RESOLVED and self.incidents.is_declared(
            timer.incident_id
        ):
            self._notify(timer.incident_id, "resolved", "", "all alerts resolved")

    # -- helpers ------------------------------------------------------------------------------

    def _schedule_escalation(self, incident: dict[str, Any], level: int) -> None:
        step = self._step(incident, level)
        if step is not None and incident.get("declared_at"):
            Timers(self.connection).schedule(
                "escalate", incident["id"], float(incident["declared_at"]) + step[0]
            )

    def _step(self, incident: dict[str, Any], level: int) -> tuple[int, list[str]] | None:
        """(seconds after declaration, targets) of escalation `level`, if the chain has it."""
        team = self.ruleset.teams.get(incident.get("team", "")) if self.ruleset else None
        if team is None or incident.get("acknowledged_at"):
            return None
        if team.escalation:
            if level > len(team.escalation):
                return None
            step = team.escalation[level - 1]
            return step.after_s, list(step.notify)
        if level == 1 and team.ack_timeout_s:  # no chain: page the team once more
            return team.ack_timeout_s, [f"team:{team.name}"]
        return None

    def _policy(self, incident: dict[str, Any], name: str) -> int | None:
        if self.ruleset is None or not incident.get("severity"):
            return None
        return getattr(self.ruleset.severities[Severity(incident["severity"])], name)

    def _notify(
        self,
        incident_id: str,
        event: str,
        seq: str,
        reason: str,
        update: dict[str, Any] | None = None,
    ) -> None:
        enqueue_notification(self.connection, incident_id, event, seq, reason, update)

    @staticmethod
    def _logged(timer: Timer, result: R) -> R:
        log(logger, "timer fired", kind=timer.kind, incident=timer.incident_id, result=result)
        return result


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"
