"""IncidentStore: folds alert events into incidents (one Lua call: correlate.lua) and reads
incidents, their alerts and their timelines back.

The rules engine decides (pure, in process); this store applies the decision atomically, so two
web processes racing on one delivery, alert or group key never open two incidents.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import redis

from app import jsontext
from app.clock import Clock
from app.errors import StorageUnavailable
from app.models import Alert, AlertStatus, Outcome, Severity
from app.resolution import Checklist
from app.store import keys, replies
from app.store.budget import StorageBudget
from app.store.connection import unavailable_reason
from app.store.lua import LuaScript

_CORRELATE = (Path(__file__).parent / "correlate.lua").read_text()
_RESOLVE = (Path(__file__).parent / "resolve.lua").read_text()
_DECLARE = (Path(__file__).parent / "declare.lua").read_text()
_LIFECYCLE = (Path(__file__).parent / "lifecycle.lua").read_text()
STATUSES = ("investigating", "identified", "monitoring", "resolved")  # Statuspage's words
# Roles beside the incident commander (the runbooks' technical and communications leads):
# incident hash field -> words.
ROLES = {"tech_lead": "technical lead", "comms_lead": "communications lead"}
# What uptime history reads of an incident (app/pages/uptime.py), a drill's marks included.
OUTAGE_FIELDS = ("severity", "service", "created_at", "resolved_at", "rule", "team")


class Declaration(StrEnum):
    """What declare() did (declare.lua's answer)."""

    DECLARED = "declared"  # group_wait is over: notify the responders, exactly once
    ALREADY_DECLARED = "already_declared"
    HELD = "held"  # flapping: the declaration waits for a calmer look
    QUIET = "quiet"  # every alert resolved during group_wait: nothing to declare
    RESOLVED = "resolved"
    UNKNOWN = "unknown"


class Resolution(StrEnum):
    """What resolve() did (resolve.lua's answer)."""

    RESOLVED = "resolved"
    ALREADY_RESOLVED = "already_resolved"
    ALERTS_OPEN = "alerts_open"  # the quiet-period timer found an alert firing again
    UNKNOWN = "unknown"


class Acted(StrEnum):
    """The `result` of a lifecycle action (lifecycle.lua's answer). Not `Lifecycle`: that is
    an alert's trigger/acknowledge/resolve (app/models.py), which the same callers use."""

    UPDATED = "updated"
    ACKNOWLEDGED = "acknowledged"
    ALREADY_ACKNOWLEDGED = "already_acknowledged"
    ESCALATED = "escalated"
    ALREADY_ESCALATED = "already_escalated"
    REMINDED = "reminded"
    ALREADY_REMINDED = "already_reminded"
    COMMANDER = "commander"
    ROLE = "role"
    SEVERITY = "severity"
    UNCHANGED = "unchanged"
    MERGED = "merged"
    UNMERGED = "unmerged"
    SAME = "same"  # merge: an incident cannot be merged into itself
    ALREADY_MERGED = "already_merged"  # into another incident
    HAS_CHILDREN = "has_children"
    PARENT_UNKNOWN = "parent_unknown"
    PARENT_RESOLVED = "parent_resolved"
    PARENT_MERGED = "parent_merged"
    RESOLVED = "resolved"
    UNKNOWN = "unknown"
    NOTED = "noted"  # a pinned chat message on the timeline


class Notify(StrEnum):
    """Whom storing an alert event asks to tell (correlate.lua's `notify`)."""

    DECLARE = "declare"  # a new incident: declare it (now, or when group_wait is over)
    SEVERITY_RAISED = "severity_raised"
    HELD = "held"  # a new incident whose declaration waits: its alert is flapping
    NOTHING = ""  # state changes only


@dataclass(frozen=True, slots=True)
class StoreDecision:
    """What the rules decided about one alert (app/ruleset's Decision), in the terms the store
    needs (app/pipeline.py decision_for_store); correlate.lua reads it as `decision`."""

    severity: Severity = Severity.SEV3
    team: str = ""
    rule: str = "default"
    rule_location: str = ""
    rules_version: str = ""
    reason: str = "no rules loaded: default severity"
    dedup_key: str = ""  # overrides the source identity as the alert's key when set
    group_key: str = ""  # "" = never grouped with other alerts
    group_window_seconds: float = 3600.0
    group_wait_seconds: float = 0.0
    declare_resolved: bool = False  # declare even if every alert resolved during group_wait
    quiet_period_seconds: float = 0.0
    suppressed: str = ""  # why a silence or maintenance window suppresses it, else ""
    inhibited_by: tuple[str, ...] = ()  # inhibition keys that would suppress this alert
    provides_inhibit: tuple[str, ...] = ()  # inhibition keys this alert's incident provides
    flapping_max_changes: int = 0  # 0 = no flap detection
    flapping_window_seconds: float = 0.0
    flapping_hold_seconds: float = 0.0  # how long a held declaration waits before a new look


@dataclass(frozen=True, slots=True)
class Correlated:
    """What storing one alert event meant, as the webhook answer reports it."""

    alert_id: str | None
    outcome: Outcome
    incident_id: str | None
    reason: str = ""
    alert_status: AlertStatus | None = None
    notify: Notify = Notify.NOTHING


@dataclass
class IncidentStore:
    connection: redis.Redis
    clock: Clock
    delivery_ttl_seconds: int
    budget: StorageBudget = field(default_factory=StorageBudget)
    _script: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._script = LuaScript(self.connection, _CORRELATE)  # per alert event: the lean call
        self._resolve = self.connection.register_script(_RESOLVE)
        self._declare = self.connection.register_script(_DECLARE)
        self._lifecycle = self.connection.register_script(_LIFECYCLE)

    def correlate(self, alert: Alert, decision: StoreDecision, raw_body: bytes) -> Correlated:
        """Record the event and fold it into an incident; raises StorageUnavailable."""
        alert_id = keys.alert_id(alert.source, decision.dedup_key or alert.identity)
        event = _event_args(
            alert, alert_id, decision, self.clock.now(), self.delivery_ttl_seconds, self.budget
        )
        event["raw_bytes"] = len(raw_body)
        sample = raw_body[: self.budget.raw_sample_bytes]  # a memoryview would not be bytes
        try:
            result = jsontext.loads(
                self._script(jsontext.dumps_bytes(event), alert.to_json().encode(), sample)
            )
        except (redis.RedisError, OSError) as exc:
            reason = unavailable_reason(exc)  # down, full, or a replica after a failover ...
            if reason is not None:
                raise StorageUnavailable(f"Redis is unavailable: {reason}", reason) from exc
            raise
        outcome = Outcome(result["outcome"])
        known = outcome is not Outcome.IGNORED
        return Correlated(
            alert_id=alert_id if known else None,
            outcome=outcome,
            incident_id=result["incident"] or None,
            reason=result["reason"],
            alert_status=AlertStatus(result["alert_status"]) if result["alert_status"] else None,
            notify=Notify(result["notify"]),
        )

    def resolve(
        self, incident_id: str, by: str, force: bool = False, checklist: Checklist | None = None
    ) -> Resolution:
        """Resolve an incident: by its quiet-period timer (only once no alert is open) or by
        hand (`force`, with the responder's checklist if any). Idempotent; returns resolved,
        already_resolved, alerts_open or unknown."""
        answers = checklist.stored() if checklist is not None else {}
        return Resolution(
            replies.text(
                self._resolve(
                    args=[
                        keys.PREFIX,
                        incident_id,
                        repr(self.clock.now()),
                        by,
                        "1" if force else "0",
                        self.budget.timeline_max,
                        json.dumps(answers, ensure_ascii=False) if answers else "",
                    ]
                )
            )
        )

    def declare(self, incident_id: str) -> Declaration:
        """End the incident's group_wait: returns declared once (then already_declared), so the
        caller notifies responders exactly once."""
        return Declaration(
            replies.text(
                self._declare(
                    args=[
                        keys.PREFIX,
                        incident_id,
                        repr(self.clock.now()),
                        self.budget.timeline_max,
                    ]
                )
            )
        )

    def acknowledge(self, incident_id: str, by: str, via: str = "") -> dict[str, Any]:
        """The first acknowledgement stops escalation; its author leads unless one was named."""
        return self._act(incident_id, "ack", by=by, via=via or None)

    def escalate(self, incident_id: str, level: int, targets: str, waited: str) -> Acted:
        """Record escalation `level` unless the incident was acknowledged or got there already:
        escalated, already_escalated, already_acknowledged, resolved or unknown."""
        reply = self._act(incident_id, "escalate", level=level, targets=targets, waited=waited)
        return Acted(reply["result"])

    def remind(self, incident_id: str, kind: str, message: str, to: str, seq: str) -> Acted:
        """Record a reminder once per `seq`: reminded, already_reminded, resolved or unknown."""
        reply = self._act(incident_id, "remind", kind=kind, message=message, by=to, seq=seq)
        return Acted(reply["result"])

    def assign_commander(self, incident_id: str, commander: str, by: str) -> dict[str, Any]:
        return self._act(incident_id, "commander", by=commander, assigned_by=by)

    def assign_role(self, incident_id: str, role: str, name: str, by: str) -> dict[str, Any]:
        """`name` takes `role` (a key of ROLES): role, unchanged, resolved or unknown."""
        return self._act(
            incident_id, "role", role=role, role_words=ROLES[role], by=name, assigned_by=by
        )

    def change_severity(self, incident_id: str, severity: str, by: str) -> dict[str, Any]:
        """Severity changed by hand without a status update: severity, unchanged, resolved or
        unknown; the reply's `changed` names what moved."""
        return self._act(incident_id, "severity", by=by, severity=severity)

    def post_update(
        self,
        incident_id: str,
        status: str,
        message: str,
        by: str,
        severity: str = "",
        checklist: Checklist | None = None,
    ) -> dict[str, Any]:
        """A status update: timeline, status, optionally severity; 'resolved' also closes it
        (with the resolution checklist, if any)."""
        result = self._act(
            incident_id, "update", by=by, status=status, message=message, severity=severity
        )
        if result["result"] is Acted.UPDATED and status == "resolved":
            self.resolve(incident_id, by=by, force=True, checklist=checklist)
            result["changed"].append("status")
            result["status"] = "resolved"
        return result

    def merge(self, incident_id: str, parent_id: str, by: str) -> dict[str, Any]:
        """Make `incident_id` a child of `parent_id` (one outage, one public incident): merged,
        unchanged, same, already_merged, has_children, parent_unknown, parent_resolved,
        parent_merged, resolved or unknown."""
        return self._act(incident_id, "merge", by=by, parent=parent_id)

    def unmerge(self, incident_id: str, parent_id: str, by: str) -> dict[str, Any]:
        """Undo `merge` when the parent resolved first: unmerged or unchanged."""
        return self._act(incident_id, "unmerge", by=by, parent=parent_id)

    def children(self, incident: dict[str, Any]) -> list[str]:
        """The incidents merged into this one, oldest first."""
        return [c for c in str(incident.get("merged", "")).split() if c]

    def note(
        self, incident_id: str, text: str, by: str, via: str, link: str = ""
    ) -> dict[str, Any]:
        """A note on the timeline (a pinned chat message): noted or unknown, even once
        resolved (the post-mortem is written from the timeline)."""
        return self._act(incident_id, "note", text=text, by=by, via=via, link=link)

    def _act(self, incident_id: str, action: str, **fields: Any) -> dict[str, Any]:
        args = {
            "prefix": keys.PREFIX,
            "now": repr(self.clock.now()),
            "id": incident_id,
            "action": action,
            "max_timeline": self.budget.timeline_max,
            **fields,
        }
        result = json.loads(self._lifecycle(args=[json.dumps(args, ensure_ascii=False)]))
        if isinstance(result.get("changed"), dict):  # cjson encodes an empty table as {}
            result["changed"] = []
        result["result"] = Acted(result["result"])
        return result

    def set_postmortem(self, incident_id: str, status: str, url: str) -> None:
        """The post-mortem's review status and where it is (stops the overdue reminders)."""
        self.connection.hset(
            keys.incident(incident_id),
            mapping={"postmortem_status": status, "postmortem_url": url},
        )

    def record_notified(
        self,
        incident_id: str,
        changes: dict[str, str],
        text: str,
        pipe: redis.client.Pipeline,
        **data: Any,
    ) -> None:
        """A message went out: the channel's ids and flags it changed (`changes`, fields of
        the incident hash) and a "notified" timeline entry, on `pipe` (the job's transaction
        with the ledger)."""
        if changes:
            # redis-py's `mapping` is Mapping[bytes | str | int | ..., ...]: Mapping's key type
            # is invariant, so no dict[str, str] variable fits it.
            pipe.hset(keys.incident(incident_id), mapping=changes)  # type: ignore[arg-type]
        self.add_timeline(incident_id, "notified", text, pipe, **data)

    def add_timeline(
        self,
        incident_id: str,
        kind: str,
        text: str,
        pipe: redis.client.Pipeline | None = None,
        **data: Any,
    ) -> None:
        """One entry on the incident's timeline (the Lua scripts write the lifecycle's own)."""
        timeline_entry(
            pipe if pipe is not None else self.connection,
            incident_id,
            self.clock.now(),
            kind,
            text,
            data,
            self.budget.timeline_max,
        )

    def note_change(
        self, incident_id: str, kind: str, text: str, during: str = "", **data: Any
    ) -> None:
        """A change held against the incident (issue 17): its timeline entry, updated_at (pages
        and the status JSON see that the incident changed) and, for a deploy made while it is
        open, `during`, the change the incident page flags."""
        with self.connection.pipeline(transaction=True) as pipe:
            self.add_timeline(incident_id, kind, text, pipe, **data)
            fields = {"updated_at": repr(self.clock.now())}
            if during:
                fields["deploy_during_incident"] = during
            pipe.hset(keys.incident(incident_id), mapping=fields)  # type: ignore[arg-type]
            pipe.execute()

    def page_change_author(self, incident_id: str, author: str, text: str, **data: Any) -> None:
        """rules `changes.after_release` `page_author`: the author the incident's page adds
        to the on-call (change_author in the incident hash), said on the timeline."""
        with self.connection.pipeline(transaction=True) as pipe:
            self.add_timeline(incident_id, "change_author", text, pipe, **data)
            pipe.hset(keys.incident(incident_id), "change_author", author)
            pipe.execute()

    def is_declared(self, incident_id: str) -> bool:
        return bool(self.connection.hexists(keys.incident(incident_id), "declared_at"))

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        data = replies.text_hash(self.connection.hgetall(keys.incident(incident_id)))
        return data or None

    def with_field(self, name: str, value: str, limit: int = 200) -> str:
        """The incident whose hash field `name` is `value` (a Slack channel's incident), or
        "": the open incidents first, then the newest `limit`, in one round trip."""
        candidates = list(
            dict.fromkeys(self.incident_ids(limit, open_only=True) + self.incident_ids(limit))
        )
        with self.connection.pipeline(transaction=False) as pipe:
            for incident_id in candidates:
                pipe.hget(keys.incident(incident_id), name)
            found = pipe.execute()
        return next(
            (i for i, v in zip(candidates, found, strict=True) if v and replies.text(v) == value),
            "",
        )

    def incident_ids(self, limit: int = 100, open_only: bool = False) -> list[str]:
        key = keys.open_incidents() if open_only else keys.incidents_index()
        return replies.members(self.connection.zrevrange(key, 0, limit - 1))

    def change_stamps(self, limit: int = 100) -> list[tuple[str, float, float | None]]:
        """(id, updated_at, resolved_at) of the newest incidents in two round trips: enough to
        tell whether anything shown about them can have changed (every change to an incident
        moves its updated_at), without reading timelines."""
        ids = self.incident_ids(limit)
        pipe = self.connection.pipeline(transaction=False)
        for incident_id in ids:
            pipe.hmget(keys.incident(incident_id), "updated_at", "resolved_at", "created_at")
        stamps = []
        for incident_id, values in zip(ids, pipe.execute(), strict=True):
            updated, resolved, created = (replies.text_or_none(v) or "" for v in values)
            if updated or created:
                stamps.append(
                    (incident_id, float(updated or created), float(resolved) if resolved else None)
                )
        return stamps

    def outage_facts(self, since: float, limit: int) -> list[dict[str, str]]:
        """What uptime history needs of the open incidents and of those resolved since
        `since` (at most `limit` of each, newest first), in two round trips: no timelines."""
        ids = self.incident_ids(limit, open_only=True)
        ids += replies.members(
            self.connection.zrevrangebyscore(
                keys.resolved_incidents(), "+inf", since, start=0, num=limit
            )
        )
        pipe = self.connection.pipeline(transaction=False)
        for incident_id in ids:
            pipe.hmget(keys.incident(incident_id), *OUTAGE_FIELDS)
        return [
            {
                k: v
                for k, v in zip(OUTAGE_FIELDS, map(replies.text_or_none, values), strict=True)
                if v
            }
            for values in pipe.execute()
        ]

    def incident_alerts(self, incident_id: str) -> list[dict[str, Any]]:
        """Every alert of the incident (sorted ids, suppressed last), as `alert_record` gives
        them: two round trips, whatever the count."""
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.smembers(keys.incident_alerts(incident_id))
            pipe.smembers(keys.incident_suppressed(incident_id))
            members, suppressed = pipe.execute()
        alerts, _ = self._alerts(_alert_ids(members, suppressed), [])
        return alerts

    def load(
        self, incident_id: str, shown: int, every_service: bool = False
    ) -> LoadedIncident | None:
        """The incident and its first `shown` alerts, what a notification job reads: the hash
        and both alert sets in one pipeline, then only the alert hashes a message can show in
        a second (not one read per alert). With `every_service` (the rules map services to
        status-page components), the second pipeline also reads the normalised alert of the
        others, for their services. None when there is no such incident."""
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.incident(incident_id))
            pipe.smembers(keys.incident_alerts(incident_id))
            pipe.smembers(keys.incident_suppressed(incident_id))
            raw, members, suppressed = pipe.execute()
        if not raw:
            return None
        ids = _alert_ids(members, suppressed)
        rest = ids[shown:] if every_service else []
        alerts, services = self._alerts(ids[:shown], rest)
        return LoadedIncident(
            replies.text_hash(raw),
            len(ids),
            alerts,
            tuple(services) if every_service or len(ids) <= shown else None,
        )

    def _alerts(
        self, ids: list[str], services_of: list[str]
    ) -> tuple[list[dict[str, Any]], list[str | None]]:
        """The alerts of `ids` (alert_record) and the service of each, then the service of
        each of `services_of` (only its normalised alert is read), in one pipeline."""
        if not ids and not services_of:
            return [], []
        with self.connection.pipeline(transaction=False) as pipe:
            for alert_id in ids:
                pipe.hgetall(keys.alert(alert_id))
            for alert_id in services_of:
                pipe.hget(keys.alert(alert_id), "alert")
            answers = pipe.execute()
        alerts: list[dict[str, Any]] = []
        services: list[str | None] = []
        for data in answers[: len(ids)]:
            alert = alert_record(data)
            if alert:
                alerts.append(alert)
                services.append((alert["alert"] or {}).get("service"))
        for normalised in answers[len(ids) :]:
            if normalised:
                services.append((json.loads(normalised) or {}).get("service"))
        return alerts, services

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        entries = []
        stream = self.connection.xrange(keys.incident_timeline(incident_id))
        for entry_id, fields in replies.stream_entries(stream):
            entry: dict[str, Any] = fields
            entry["id"] = entry_id
            entry["at"] = float(entry["at"])
            entry["data"] = json.loads(entry.get("data") or "{}")
            entries.append(entry)
        return entries

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        data = alert_record(self.connection.hgetall(keys.alert(alert_id)))
        if not data:
            return None
        data["count"] = int(data.get("count") or 0)
        return data

    def raw_sample(self, alert_id: str) -> bytes | None:
        """The raw body of the delivery that opened the alert's current episode, cut to
        KLAXON_RAW_SAMPLE_BYTES (the alert's `raw_bytes` says how long it was)."""
        sample = self.connection.hget(keys.alert(alert_id), "raw")
        return sample if isinstance(sample, bytes) else None

    def events(self, alert_id: str) -> list[dict[str, str]]:
        """The alert's last state changes (KLAXON_ALERT_EVENTS_MAX), oldest first: lifecycle,
        outcome, at and the raw body's length (the body itself: raw_sample)."""
        entries: list[bytes] = self.connection.lrange(keys.alert_events(alert_id), 0, -1)  # type: ignore[assignment]
        return [{k: str(v) for k, v in json.loads(entry).items()} for entry in entries]


def _event_args(
    alert: Alert,
    alert_id: str,
    decision: StoreDecision,
    now: float,
    delivery_ttl: int,
    budget: StorageBudget,
) -> dict[str, Any]:
    where = f" on {alert.service}" if alert.service else ""
    member = keys.delivery_member(alert.source.value, alert.delivery_id)
    return {
        "prefix": keys.PREFIX,
        "now": repr(now),
        "year": time.strftime("%Y", time.gmtime(now)),
        "alert_id": alert_id,
        "source": alert.source.value,
        "identity": alert.identity,
        "lifecycle": alert.lifecycle.value,
        "event_type": alert.event_type,
        # Strings: Lua numbers are doubles and would round a 64-bit member.
        "delivery_member": str(member),
        "delivery_shard": str(keys.delivery_shard(member)),
        "delivery_buckets": [str(b) for b in keys.delivery_buckets(now, delivery_ttl)],
        "delivery_expires_in": keys.delivery_expires_at(now, delivery_ttl) - int(now),
        # Names this event in the flapping set (unique per delivery).
        "delivery_hash": format(member & 0xFFFFFFFFFFFFFFFF, "016x"),
        # A string, "" when absent: Redis' cjson turns JSON null into a truthy value.
        "ordered_at": "" if alert.ordered_at is None else repr(alert.ordered_at),
        "title": alert.title,
        "service": alert.service,
        "environment": alert.environment,
        "source_severity": alert.source_severity,
        "actor": alert.actor,
        "title_line": f"[{alert.source}] {alert.event_type}{where}: "
        f"{alert.title or alert.description[:200]} ({alert_id})",
        "max_alert_events": budget.alert_events_max,
        "max_log": budget.webhook_log_max,
        "max_timeline": budget.timeline_max,
        "decision": {
            "severity": decision.severity.value,
            "team": decision.team,
            "rule": decision.rule,
            "rule_location": decision.rule_location,
            "rules_version": decision.rules_version,
            "reason": decision.reason,
            "group_key": decision.group_key,
            "group_hash": hashlib.blake2b(decision.group_key.encode(), digest_size=12).hexdigest(),
            "group_window": decision.group_window_seconds,
            "group_wait": decision.group_wait_seconds,
            "declare_resolved": decision.declare_resolved,
            "quiet_period": decision.quiet_period_seconds,
            "suppressed": decision.suppressed,
            # Lists stay lists and "absent" is false: Redis' cjson turns JSON null into a
            # truthy value.
            "inhibited_by": list(decision.inhibited_by),
            "provides_inhibit": list(decision.provides_inhibit),
            "flapping": {
                "max_changes": decision.flapping_max_changes,
                "window": decision.flapping_window_seconds,
                "hold": decision.flapping_hold_seconds,
            }
            if decision.flapping_max_changes
            else False,
        },
    }


@dataclass(frozen=True, slots=True)
class LoadedIncident:
    """What one notification job reads about an incident, in two round trips (load()).

    incident:    the incident hash as stored (IncidentStore.incident)
    alert_count: how many alerts it has, suppressed ones included
    alerts:      the first of them as incident_alerts gives them (sorted ids, suppressed
                 last; `alert` decoded from JSON)
    services:    the service of every alert, in the same order (None when not read)
    """

    incident: dict[str, str]
    alert_count: int
    alerts: list[dict[str, Any]]
    services: tuple[str | None, ...] | None = None


def timeline_entry(
    connection: redis.Redis | redis.client.Pipeline,
    incident_id: str,
    at: float,
    kind: str,
    text: str,
    data: dict[str, Any],
    cap: int,
) -> None:
    """The one way Python adds to an incident's timeline (IncidentStore.add_timeline; the
    maintenance mode's note on every open incident), capped at `cap` entries
    (KLAXON_TIMELINE_MAX) as the Lua scripts cap it, older ones dropped first."""
    connection.xadd(
        keys.incident_timeline(incident_id),
        {"at": repr(at), "kind": kind, "text": text, "data": json.dumps(data)},
        maxlen=cap,
        approximate=True,
    )


def _alert_ids(members: Any, suppressed: Any) -> list[str]:
    return sorted(replies.members(members)) + sorted(replies.members(suppressed))


def alert_record(reply: Any) -> dict[str, Any] | None:
    """An alert as the API, the pages and the notification jobs see it, from the HGETALL of
    its hash: text fields, the normalised alert decoded, without the raw sample (the sender's
    bytes: IncidentStore.raw_sample, for debugging only). None when the alert is gone."""
    data: dict[str, Any] = replies.text_hash(reply)
    data.pop("raw", None)
    if not data:
        return None
    data["alert"] = json.loads(data.get("alert") or "null")
    return data
