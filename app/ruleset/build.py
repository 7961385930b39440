"""Phase two of loading: what the rules mean. Cross-references (teams, environment variables),
conflicts (duplicate names, shadowed routes), regexes, templates and time zones are checked
while the runtime values are built, so every problem is found in one pass."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from app.models import Severity
from app.ruleset import defaults
from app.ruleset.checks import Checks
from app.ruleset.model import (
    ChangePolicy,
    CommsPolicy,
    EscalationLevel,
    FlapPolicy,
    InhibitRule,
    Location,
    Responder,
    RouteSettings,
    Rule,
    SeverityLookup,
    SeverityPolicy,
    Silence,
    Team,
)
from app.ruleset.problems import did_you_mean
from app.ruleset.sections import BUILT_IN, Entry
from app.ruleset.services import Service, canonical_service, spelling_key
from app.ruleset.slackpolicy import (
    DEFAULT_ARCHIVE_AFTER_SECONDS,
    DEFAULT_CHANNEL_SEVERITIES,
    SlackPolicy,
    SlackTeam,
    SlackUser,
)
from app.ruleset.timewindows import parse_duration
from app.ruleset.vocabulary import (
    DECISION_FIELDS,
    ComponentStatus,
    PageMode,
    ResponderType,
    SilenceKind,
    StatuspageImpact,
)


class Builder(Checks):
    """Builds runtime values from gathered sections, collecting problems instead of raising."""

    # -- severities and severity maps ------------------------------------------------------

    def severities(self) -> dict[Severity, SeverityPolicy]:
        given = self.sections.mappings["severities"]
        return {
            sev: self._policy(sev, given[sev].value if sev in given else {}) for sev in Severity
        }

    def _policy(self, severity: Severity, given: dict[str, Any]) -> SeverityPolicy:
        data = defaults.SEVERITIES[severity.value] | given
        statuspage = defaults.SEVERITIES[severity.value]["statuspage"] | given.get("statuspage", {})
        return SeverityPolicy(
            severity,
            data["description"],
            PageMode(data["page"]),
            StatuspageImpact(statuspage["impact"]),
            ComponentStatus(statuspage["component_status"]),
            data["x_post"],
            _maybe_duration(data["update_every"]),
            _maybe_duration(data["postmortem_due"]),
            self._comms(severity, given.get("comms") or {}, _maybe_duration(data["update_every"])),
        )

    def _comms(self, severity: Severity, given: dict[str, Any], every: int | None) -> CommsPolicy:
        """The comms rhythm; off unless the rules set it (rules/severities.yml does)."""
        comms = CommsPolicy(
            first_post_within_s=_maybe_duration(given.get("first_post_within")),
            auto_first_post=bool(given.get("auto_first_post", False)),
            remind_before_s=_maybe_duration(given.get("remind_before")),
            long_incident_after_s=_maybe_duration(given.get("long_incident_after")),
            long_incident_update_every_s=_maybe_duration(given.get("long_incident_update_every")),
            resolution_must_state=tuple(dict.fromkeys(given.get("resolution_must_state") or [])),
        )
        entry = self.sections.mappings["severities"].get(severity)
        if entry is None:
            return comms
        where = entry.child("comms")
        if comms.remind_before_s and every and comms.remind_before_s >= every:
            self.report(
                where.child("remind_before"),
                "remind_before is not shorter than update_every: every reminder would come "
                "as the last update is posted",
                hint="a few minutes, e.g. 5m",
            )
        if (comms.long_incident_after_s is None) != (comms.long_incident_update_every_s is None):
            self.report(
                where,
                "long_incident_after and long_incident_update_every go together",
                hint="set both (e.g. 2h and 1h), or neither",
            )
        if comms.auto_first_post and comms.first_post_within_s is None:
            self.report(
                where.child("auto_first_post"),
                "auto_first_post needs first_post_within: the deadline it publishes at",
            )
        return comms

    def severity_maps(self) -> dict[str, tuple[SeverityLookup, ...]]:
        given = self.sections.mappings["severity_maps"]
        maps = {
            source: self.lookups(Entry(lookups, BUILT_IN, ("severity_maps", source)))
            for source, lookups in defaults.SEVERITY_MAPS.items()
        }
        maps.update({source: self.lookups(entry) for source, entry in given.items()})
        return maps

    def lookups(self, entry: Entry) -> tuple[SeverityLookup, ...]:
        result = []
        for i in range(len(entry.value)):
            item = entry.child(i)
            self.check_field(item.child("field"), item.value["field"])
            result.append(
                SeverityLookup(
                    item.value["field"], {str(k): Severity(v) for k, v in item.value["map"].items()}
                )
            )
        return tuple(result)

    # -- teams ------------------------------------------------------------------------------

    def all_teams(self) -> dict[str, Team]:
        return {name: self.team(name, entry) for name, entry in self.teams.items()}

    def team(self, name: str, entry: Entry) -> Team:
        data = entry.value or {}
        pagerduty, opsgenie = data.get("pagerduty") or {}, data.get("opsgenie") or {}
        if pagerduty:
            self.check_env(entry.child("pagerduty").child("routing_key_env"))
        return Team(
            name,
            data.get("description", ""),
            pagerduty.get("routing_key_env", ""),
            opsgenie.get("team", ""),
            tuple(
                Responder(ResponderType(r["type"]), r["name"])
                for r in opsgenie.get("responders", ())
            ),
            _maybe_duration(data.get("ack_timeout")),
            self.escalation(entry, data.get("escalation", [])),
            self.weekly(entry.child("business_hours")) if "business_hours" in data else None,
        )

    def escalation(self, team: Entry, levels: list[dict[str, Any]]) -> tuple[EscalationLevel, ...]:
        for i, level in enumerate(levels):
            for j, target in enumerate(level["notify"]):
                if target.startswith("team:"):
                    where = team.child("escalation").child(i).child("notify").child(j)
                    self.check_team(where, target.removeprefix("team:"))
        return tuple(
            EscalationLevel(parse_duration(level["after"]), tuple(level["notify"]))
            for level in levels
        )

    # -- routes ------------------------------------------------------------------------------

    def settings(self, entry: Entry) -> RouteSettings:
        data = entry.value
        if "team" in data:
            self.check_team(entry.child("team"), data["team"])
        for i, name in enumerate(data.get("group_by", ())):
            self.check_field(entry.child("group_by").child(i), name, DECISION_FIELDS)
        return RouteSettings(
            team=data.get("team"),
            severity=Severity(data["severity"]) if "severity" in data else None,
            severity_map=self.lookups(entry.child("severity_map"))
            if "severity_map" in data
            else None,
            dedup_key=self.template(entry.child("dedup_key")) if "dedup_key" in data else None,
            group_by=tuple(data["group_by"]) if "group_by" in data else None,
            group_by_empty=data.get("group_by_empty"),
            declare_resolved=data.get("declare_resolved"),
            group_window_s=_maybe_duration(data.get("group_window")),
            group_wait_s=_maybe_duration(data.get("group_wait")),
            resolve_quiet_s=_maybe_duration(data.get("resolve_quiet")),
            flapping=_flapping(data["flapping"]) if "flapping" in data else None,
            ignore=data.get("ignore"),
        )

    def defaults(self) -> RouteSettings:
        given = self.sections.mappings["defaults"]
        merged = Entry(dict(defaults.DEFAULTS), BUILT_IN, ("defaults",))
        built = self.settings(merged)
        if not given:
            return built
        first = next(iter(given.values()))
        top = Entry({k: e.value for k, e in given.items()}, first.source, ("defaults",))
        return layer(built, self.settings(top))

    def rules(self) -> tuple[Rule, ...]:
        rules: list[Rule] = []
        seen: dict[str, Rule] = {}
        stopper: Rule | None = None
        for position, entry in enumerate(self.sections.lists["routes"]):
            rule = self.rule(entry, position)
            self._check_unique(entry, rule, seen)
            if stopper is not None:
                self.report(
                    entry,
                    f"route '{rule.name}' can never match: the catch-all route "
                    f"'{stopper.name}' at {stopper.location} stops every alert "
                    "first",
                    hint="move it above the catch-all, or give the catch-all continue: true",
                )
            elif _is_catch_all(entry) and not rule.continue_:
                stopper = rule
            rules.append(rule)
        self._check_catch_all(stopper)
        return tuple(rules)

    def rule(self, entry: Entry, position: int) -> Rule:
        data = entry.value
        return Rule(
            data["name"],
            position,
            Location(entry.source.name, entry.line()),
            self.matchers(entry),
            bool(data.get("continue", False)),
            self.settings(entry),
            data.get("description", ""),
        )

    def _check_unique(self, entry: Entry, rule: Rule, seen: dict[str, Rule]) -> None:
        if rule.name in seen:
            self.report(
                entry.child("name"),
                f"duplicate route name '{rule.name}', first defined at {seen[rule.name].location}",
            )
        seen.setdefault(rule.name, rule)

    def _check_catch_all(self, stopper: Rule | None) -> None:
        given = self.sections.mappings["defaults"]
        if stopper is None and "team" not in given and self.complete:
            routes = self.sections.lists["routes"]
            where = routes[-1] if routes else Entry({}, BUILT_IN, ())
            self.report(
                where,
                "no catch-all: an alert that matches no route would have no team",
                "defaults: team: <name>, or a last route without match or matchers",
            )

    # -- inhibition and silences ---------------------------------------------------------------

    def inhibit_rules(self) -> tuple[InhibitRule, ...]:
        result = []
        for entry in self.sections.lists["inhibit_rules"]:
            data = entry.value
            for i, name in enumerate(data.get("equal", ())):
                self.check_field(entry.child("equal").child(i), name, DECISION_FIELDS)
            result.append(
                InhibitRule(
                    data["name"],
                    Location(entry.source.name, entry.line()),
                    self.matchers(entry, DECISION_FIELDS, ("source_match",)),
                    self.matchers(entry, DECISION_FIELDS, ("target_match",)),
                    tuple(data.get("equal", ())),
                    bool(data.get("equal_empty", False)),
                )
            )
        return tuple(result)

    def silences(self) -> tuple[Silence, ...]:
        return tuple(self.silence(entry) for entry in self.sections.lists["silences"])

    def silence(self, entry: Entry) -> Silence:
        data = entry.value
        if "ends_at" not in data and "recurring" not in data:
            self.report(
                entry,
                f"silence '{data['name']}' never ends",
                "ends_at: <time>, or recurring: <weekly window>",
            )
        starts = self.timestamp(entry.child("starts_at")) if "starts_at" in data else None
        ends = self.timestamp(entry.child("ends_at")) if "ends_at" in data else None
        if starts is not None and ends is not None and ends <= starts:
            self.report(entry.child("ends_at"), "ends_at is not after starts_at")
        return Silence(
            data["name"],
            Location(entry.source.name, entry.line()),
            SilenceKind(data.get("kind", "silence")),
            self.matchers(entry, DECISION_FIELDS),
            data.get("comment", ""),
            data.get("created_by", ""),
            starts,
            ends,
            self.weekly(entry.child("recurring")) if "recurring" in data else None,
        )

    # -- service catalog -----------------------------------------------------------------------

    def services(self) -> dict[str, Service]:
        result = {}
        for name, entry in self.sections.mappings["services"].items():
            data = entry.value or {}
            if "team" in data:
                self.check_team(entry.child("team"), data["team"])
            patterns = [
                entry.child("patterns").child(i) for i in range(len(data.get("patterns") or ()))
            ]
            result[name] = Service(
                name,
                data.get("team", ""),
                tuple(a for a in data.get("aliases") or () if a is not None),
                _component_ids(data["component"]) if data.get("component") else (),
                tuple(self.matchers(p) for p in patterns),
                tuple(f"{p.source.name}:{p.line()}" for p in patterns),
                heroku_apps=tuple(data.get("heroku_apps", ())),
                github=tuple(data.get("github", ())),
            )
        return result

    def change_policy(self) -> ChangePolicy:
        given = self.sections.mappings["changes"]
        window = given.get("window")
        rule = given.get("after_release")
        data = rule.value if rule is not None else {}
        return ChangePolicy(
            window_s=parse_duration(window.value) if window is not None else 2 * 3600,
            after_release_within_s=parse_duration(data["within"]) if rule is not None else 0,
            raise_to=Severity(data["raise_to"]) if "raise_to" in data else None,
            page_author=self._page_author(rule, data),
            location=f"{rule.source.name}:{rule.line()}" if rule is not None else "",
        )

    def _page_author(self, rule: Entry | None, data: dict[str, Any]) -> bool:
        """`after_release` must do something: raise the severity, page the author, or both."""
        if rule is not None and "raise_to" not in data and not data.get("page_author"):
            self.report(
                rule,
                "after_release does nothing",
                expected="raise_to: <severity>, page_author: true, or both",
            )
        return bool(data.get("page_author", False))

    def service_names(self, services: dict[str, Service]) -> dict[str, str]:
        """Spelling key -> canonical name; two services claiming one spelling is a problem."""
        names: dict[str, str] = {}
        for service in services.values():
            entry = self.sections.mappings["services"][service.name]
            for i, spelling in enumerate((service.name, *service.aliases)):
                key = spelling_key(spelling)
                owner = names.setdefault(key, service.name)
                if owner != service.name:
                    where = entry.child("aliases").child(i - 1) if i else entry
                    self.report(
                        where,
                        f"'{spelling}' names both service '{owner}' and '{service.name}'",
                        hint="each spelling (case, spaces and punctuation aside) may name "
                        "one service",
                        key=not i,
                    )
        return names

    # -- Slack ---------------------------------------------------------------------------------

    def slack_policy(self) -> SlackPolicy:
        """rules/slack.yml; a severity not listed keeps its default (SEV1/SEV2 get a channel,
        SEV1-SEV3 are announced)."""
        given = {k: e.value or {} for k, e in self.sections.mappings["slack.severities"].items()}
        base = SlackPolicy()
        channel = {s: s in DEFAULT_CHANNEL_SEVERITIES for s in defaults.SEVERITIES}
        announce = {s: s in base.announce_severities for s in defaults.SEVERITIES}
        for severity, policy in given.items():
            channel[severity] = policy.get("incident_channel", channel.get(severity, False))
            announce[severity] = policy.get("announce", announce.get(severity, False))
        teams = {}
        for name, entry in self.sections.mappings["slack.teams"].items():
            if name != "default":
                self.check_team(entry, name)
            data = entry.value or {}
            teams[name] = SlackTeam(data.get("channel", ""), tuple(data.get("members", ())))
        users = {
            user_id: SlackUser(user_id, (e.value or {}).get("name", ""), e.value.get("email", ""))
            for user_id, e in self.sections.mappings["slack.users"].items()
        }
        archive_after = self.sections.mappings.get("slack", {}).get("archive_after")
        return SlackPolicy(
            tuple(s for s, on in channel.items() if on),
            tuple(s for s, on in announce.items() if on),
            teams,
            users,
            parse_duration(archive_after.value)
            if archive_after and archive_after.value
            else DEFAULT_ARCHIVE_AFTER_SECONDS,
        )

    # -- status page ---------------------------------------------------------------------------

    def statuspage_components(
        self, services: dict[str, Service], names: dict[str, str]
    ) -> dict[str, tuple[str, ...]]:
        """Each service's component ids, each once, in the order written: the catalog's
        `component`, then statuspage.components (a spelling of a catalog service counts as
        that service)."""
        found = {s.name: s.components for s in services.values() if s.components}
        for service, entry in self.sections.mappings["statuspage.components"].items():
            name = canonical_service(names, service)
            found[name] = tuple(dict.fromkeys((*found.get(name, ()), *_component_ids(entry.value))))
        return found

    def statuspage_groups(
        self, mapped: dict[str, tuple[str, ...]], names: dict[str, str]
    ) -> dict[str, tuple[str, ...]]:
        """Each component group's services (by their catalog name), in the order written. A
        service must have a component (`mapped`: the catalog's and statuspage.components'),
        else the page shows it as General, and be in one group only."""
        owner: dict[str, str] = {}
        groups: dict[str, tuple[str, ...]] = {}
        for group, entry in self.sections.mappings["statuspage.groups"].items():
            members = []
            for i, written in enumerate(entry.value or []):
                if written is None:  # refused by the shape phase
                    continue
                where = entry.child(i)
                service = canonical_service(names, written)
                if service not in mapped:
                    self.report(
                        where,
                        f"service '{written}' has no status page component",
                        hint="give it a `component:` in services.yml or statuspage.components; "
                        + (did_you_mean(written, mapped) or "the page only names those"),
                    )
                elif service in owner:
                    self.report(
                        where,
                        f"service '{service}' is already in group '{owner[service]}'",
                        hint="a component shows under one group",
                    )
                else:
                    owner[service] = group
                    members.append(service)
            groups[group] = tuple(members)
        return groups


def _component_ids(value: str | list[str | None]) -> tuple[str, ...]:
    """One id or a list of them; ids the shape phase refused were pruned to None."""
    ids = [value] if isinstance(value, str) else value
    return tuple(dict.fromkeys(c for c in ids if c is not None))


def _is_catch_all(entry: Entry) -> bool:
    """Judged on what was written: a route whose matchers failed to compile is not one."""
    return not entry.value.get("match") and not entry.value.get("matchers")


def _maybe_duration(text: str | None) -> int | None:
    return None if text is None else parse_duration(text)


def _flapping(data: dict[str, Any]) -> FlapPolicy:
    window = parse_duration(data["window"])
    return FlapPolicy(
        data["state_changes"], window, parse_duration(data.get("hold", data["window"]))
    )


def layer(base: RouteSettings, top: RouteSettings) -> RouteSettings:
    """`top`'s values where it sets them, else `base`'s."""
    changes = {
        f.name: getattr(top, f.name) for f in fields(top) if getattr(top, f.name) is not None
    }
    return replace(base, **changes)
