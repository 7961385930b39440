"""What each timer does when it falls due (the process the runbooks write down):

    declare:<id>     group_wait is over: tell responders; start the ack and update clocks
    escalate:<id>    nobody acknowledged in time: page the next level of the team's chain
    remind:<id>      the comms rhythm (app/cadence.py): remind the commander before the next
                     status update is due and again when it is late; publish the drafted
                     first public post when nobody posted one by its deadline
    postmortem:<id>  the post-mortem is still a draft when due: chase the commander
    archive:<id>     the post-mortem was published, or rules/slack.yml's archive_after has
                     passed since resolution: archive the incident's Slack channel (a job)
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

from app.cadence import FIRST_POST_BY, first_post_draft, first_reminder_at, reminder_step
from app.logs import log
from app.messages.public_guard import Known
from app.messages.wording import utc
from app.notifications import enqueue_notification, enqueue_slack_archive
from app.pages.status import GENERAL, public_component
from app.ruleset import RuleSet
from app.store import keys, replies
from app.store.incidents import Acted, Declaration, IncidentStore, Resolution
from app.store.timers import Timer, Timers

R = TypeVar("R", bound=str)  # what the store answered, logged as it passes
logger = logging.getLogger("klaxon.timers")
# What start_clocks and _step read of the incident.
CLOCK_FIELDS = (
    "id",
    "status",
    "declared_at",
    "team",
    "acknowledged_at",
    "severity",
    "last_update_at",
)


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
            "archive": self.archive,
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
        remind_at = first_reminder_at(incident, self.ruleset)
        if remind_at is not None:
            due["remind"] = remind_at
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
        if self._logged(timer, result) is Acted.ESCALATED:
            self._notify(
                timer.incident_id,
                "escalated",
                str(level),
                f"not acknowledged after {_span(after)}; escalated to {', '.join(targets)}",
                {"level": level, "escalated_to": targets},
            )
            self._schedule_escalation(incident, level + 1)

    def remind(self, timer: Timer) -> None:
        """One step of the comms rhythm (app/cadence.reminder_step decides which)."""
        incident = self.incidents.incident(timer.incident_id) or {}
        step = reminder_step(incident, self.ruleset, timer.due)
        next_at = step.next_at
        if step.action == "first_post":
            self._publish_first_post(timer, incident)
            # The rhythm counts from when it went out, which a late tick makes later.
            posted = self.incidents.incident(timer.incident_id) or {}
            next_at = first_reminder_at(posted, self.ruleset) or next_at
        elif step.action in ("due_soon", "overdue"):
            self._remind_update(timer, incident, step.action, step.due)
        if next_at is not None:
            Timers(self.connection).schedule("remind", timer.incident_id, next_at)

    def _remind_update(
        self, timer: Timer, incident: dict[str, Any], action: str, due: float
    ) -> None:
        who = incident.get("commander") or f"team {incident.get('team', '')}"
        what = "first public post" if not incident.get("last_update_at") else "status update"
        if action == "due_soon":
            message = f"{what} due in {_span(due - timer.due)} (by {_clock(due)}); {who} reminded"
            first = not incident.get("last_update_at")
            reason = "first_post_due_soon" if first else "update_due_soon"
            seq = "soon-" + repr(due)
        else:
            message = f"{what} overdue by {_span(timer.due - due)}; {who} reminded"
            reason, seq = "update_overdue", repr(timer.due)
        result = self.incidents.remind(timer.incident_id, "update", message, who, seq)
        if self._logged(timer, result) is Acted.REMINDED:
            self._notify(timer.incident_id, "reminder", seq, reason)

    def _publish_first_post(self, timer: Timer, incident: dict[str, Any]) -> None:
        """Nobody posted by the deadline: the drafted first post goes out as a status update
        through the same path as a person's (store, then the update_posted notification,
        whose public part reaches the status page and X). Once only: a second firing finds
        the update and the reminder step is no longer first_post."""
        component = ""
        if self.ruleset is not None:  # named in public only when rules/ declare it
            component = public_component(self.ruleset, incident.get("service", ""), Known())
        message = first_post_draft(
            incident.get("severity", ""), self.ruleset, "" if component == GENERAL else component
        )
        status = incident.get("status") or "investigating"
        result = self.incidents.post_update(timer.incident_id, status, message, FIRST_POST_BY)
        if self._logged(timer, result["result"]) is Acted.UPDATED:
            self._notify(
                timer.incident_id,
                "update_posted",
                repr(timer.due),
                "first public post drafted by Klaxon: none was posted by its deadline",
                {"status": status, "message": message, "by": FIRST_POST_BY},
            )

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
            is Acted.REMINDED
        ):
            self._notify(
                timer.incident_id, "reminder", "postmortem-" + repr(timer.due), "postmortem_overdue"
            )

    def schedule_archive(self, incident_id: str, resolved_at: float, after_s: float) -> None:
        """The resolved incident's Slack channel is archived `after_s` after resolution, or
        on the next tick when its post-mortem is published already."""
        published = self.connection.hget(keys.incident(incident_id), "postmortem_status")
        due = resolved_at if replies.text(published or "") == "published" else resolved_at + after_s
        Timers(self.connection).schedule("archive", incident_id, due)

    def archive(self, timer: Timer) -> None:
        """The job checks that the channel is there to archive; the ledger archives it once."""
        self._logged(timer, "archive enqueued")
        enqueue_slack_archive(self.connection, timer.incident_id)

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


def _clock(epoch: float) -> str:
    return utc(epoch)


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"
