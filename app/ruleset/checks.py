"""The checks phase two runs while building: field names, teams, environment variables,
matchers, templates, time zones and times. Each reports a problem at the entry that caused it
and returns what it could build (or None), so building carries on and finds every problem."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from app.ruleset.labels import is_known_field
from app.ruleset.matchers import (
    Matcher,
    MatcherError,
    compile_matcher,
    matchers_from_mapping,
    parse_matcher_string,
)
from app.ruleset.problems import Problem, did_you_mean, format_path
from app.ruleset.sections import Entry, Sections
from app.ruleset.templates import Template, TemplateError, compile_template, template_fields
from app.ruleset.timewindows import WeeklyWindow, parse_clock, parse_weekdays
from app.ruleset.vocabulary import ALERT_FIELDS, DECISION_FIELDS, WEEKDAYS

_FIELDS_EXPECTED = "an alert field (" + ", ".join(ALERT_FIELDS) + ") or tags.<name>"


class Checks:
    """Problem collection plus the checks shared by every section."""

    def __init__(self, sections: Sections, complete: bool = True) -> None:
        self.sections = sections
        # False when phase one pruned something: then "X is missing" checks would only echo
        # problems already reported.
        self.complete = complete
        self.problems: list[Problem] = []
        self.teams = sections.mappings["teams"]

    def report(
        self, entry: Entry, message: str, expected: str = "", hint: str = "", key: bool = False
    ) -> None:
        line, col = entry.source.at(entry.path, key=key)
        self.problems.append(
            Problem(entry.source.name, line, col, format_path(entry.path), message, expected, hint)
        )

    def check_env(self, entry: Entry) -> None:
        documented = self.sections.mappings["environment"]
        if entry.value not in documented:
            self.report(
                entry,
                f"environment variable '{entry.value}' is not documented",
                f"an entry '{entry.value}: <what it holds>' under environment:",
                did_you_mean(entry.value, documented),
            )

    def check_team(self, entry: Entry, name: str) -> None:
        if name not in self.teams:
            hint = did_you_mean(name, self.teams) or "defined teams are " + ", ".join(
                sorted(self.teams)
            )
            self.report(entry, f"team '{name}' is not defined under teams:", hint=hint)

    def check_field(
        self, entry: Entry, name: str, extra: tuple[str, ...] = (), key: bool = False
    ) -> bool:
        if is_known_field(name, extra):
            return True
        choices = ALERT_FIELDS + extra
        self.report(
            entry, f"unknown field '{name}'", _FIELDS_EXPECTED, did_you_mean(name, choices), key=key
        )
        return False

    def matchers(
        self,
        entry: Entry,
        extra: tuple[str, ...] = (),
        keys: tuple[str, ...] = ("match", "matchers"),
    ) -> tuple[Matcher, ...]:
        result: list[Matcher] = []
        mapping_key, strings_key = keys[0], keys[-1]
        for name in entry.value.get(mapping_key) or {}:
            where = entry.child(mapping_key).child(name)
            if self.check_field(where, name, extra, key=True):
                for triple in matchers_from_mapping(name, where.value):
                    self._compile(where, result, *triple)
        if strings_key != mapping_key:
            for i, text in enumerate(entry.value.get(strings_key) or ()):
                self._matcher_string(entry.child(strings_key).child(i), text, extra, result)
        return tuple(result)

    def _matcher_string(
        self, entry: Entry, text: str, extra: tuple[str, ...], into: list[Matcher]
    ) -> None:
        try:
            name, op, value = parse_matcher_string(text)
        except MatcherError as error:
            self.report(entry, str(error), "field op value, with op one of = != =~ !~ > >= < <=")
            return
        if self.check_field(entry, name, extra):
            self._compile(entry, into, name, op, value)

    def _compile(self, entry: Entry, into: list[Matcher], name: str, op: Any, value: Any) -> None:
        try:
            into.append(compile_matcher(name, op, value))
        except MatcherError as error:
            self.report(entry, str(error))

    def template(self, entry: Entry) -> Template | None:
        try:
            return compile_template(entry.value)
        except TemplateError as error:
            self.report(
                entry,
                f"template {entry.value!r} fails to render: {error}",
                "fields " + ", ".join(template_fields()),
                did_you_mean(error.name, ALERT_FIELDS + DECISION_FIELDS) if error.name else "",
            )
            return None

    def weekly(self, entry: Entry) -> WeeklyWindow | None:
        data, ok = entry.value, self.check_timezone(entry.child("timezone"))
        try:
            days = parse_weekdays(data.get("weekdays", ["monday:sunday"]))
        except ValueError as error:
            self.report(
                entry.child("weekdays"),
                f"unknown weekday '{error}'",
                "weekday names such as monday, or ranges such as monday:friday",
                did_you_mean(str(error), WEEKDAYS),
            )
            return None
        return (
            WeeklyWindow(
                data["timezone"], days, parse_clock(data["start"]), parse_clock(data["end"])
            )
            if ok
            else None
        )

    def check_timezone(self, entry: Entry) -> bool:
        try:
            zoneinfo.ZoneInfo(entry.value)
            return True
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.report(
                entry,
                f"unknown time zone '{entry.value}'",
                "an IANA time zone such as Europe/Berlin or UTC",
                did_you_mean(entry.value, zoneinfo.available_timezones()),
            )
            return False

    def timestamp(self, entry: Entry) -> float | None:
        try:
            moment = datetime.fromisoformat(entry.value)
        except ValueError:
            self.report(
                entry,
                f"'{entry.value}' is not an ISO 8601 time",
                "a time such as 2026-03-20T22:00:00Z",
            )
            return None
        if moment.tzinfo is None:
            self.report(
                entry,
                f"'{entry.value}' has no time zone offset",
                "a time such as 2026-03-20T22:00:00+01:00 or ...Z",
            )
            return None
        return moment.timestamp()
