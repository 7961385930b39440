from __future__ import annotations

from pathlib import Path

from app.ruleset import check_flapping, check_inhibition, classify, is_in_business_hours
from app.ruleset.classify import suppression_for
from app.ruleset.model import FlapPolicy, Team
from app.ruleset.policies import active_silences
from app.ruleset.timewindows import WeeklyWindow, parse_weekdays
from app.ruleset.vocabulary import Suppressed

from .helpers import alert, at, rules

BERLIN_WEEKDAYS = WeeklyWindow("Europe/Berlin", parse_weekdays(["monday:friday"]), 9 * 60, 18 * 60)


def test_business_hours_are_read_in_the_team_time_zone() -> None:
    team = Team("checkout", business_hours=BERLIN_WEEKDAYS)
    assert is_in_business_hours(team, at("2026-03-16T08:30:00Z"))  # 09:30 in Berlin (CET)
    assert not is_in_business_hours(team, at("2026-03-16T07:30:00Z"))  # 08:30 in Berlin
    assert not is_in_business_hours(team, at("2026-03-16T17:00:00Z"))  # 18:00, end excluded
    assert not is_in_business_hours(team, at("2026-03-14T10:00:00Z"))  # Saturday


def test_business_hours_follow_daylight_saving() -> None:
    team = Team("checkout", business_hours=BERLIN_WEEKDAYS)
    # 30 March 2026 is CEST (UTC+2): 07:30 UTC is 09:30 local
    assert is_in_business_hours(team, at("2026-03-30T07:30:00Z"))
    assert not is_in_business_hours(team, at("2026-03-23T07:30:00Z"))  # still CET: 08:30


def test_team_without_business_hours_is_always_in_hours() -> None:
    assert is_in_business_hours(Team("platform"), at("2026-03-14T03:00:00Z"))


def test_window_over_midnight_belongs_to_the_day_it_starts() -> None:
    friday_night = WeeklyWindow("UTC", parse_weekdays(["friday"]), 22 * 60, 2 * 60)
    assert friday_night.contains(at("2026-03-13T23:00:00Z"))  # Friday 23:00
    assert friday_night.contains(at("2026-03-14T01:59:00Z"))  # Saturday 01:59
    assert not friday_night.contains(at("2026-03-14T02:00:00Z"))
    assert not friday_night.contains(at("2026-03-13T01:00:00Z"))  # Friday 01:00: Thursday's


def test_weekday_ranges_wrap_around_the_week() -> None:
    assert parse_weekdays(["saturday:monday"]) == {5, 6, 0}
    assert parse_weekdays(["tuesday", "thursday"]) == {1, 3}


SILENCES = """
teams:
  search: {}
routes:
  - {name: catch-all, team: search}
silences:
  - name: reindex
    kind: maintenance
    comment: weekly reindex
    match: {service: {regex: "^search-"}}
    recurring: {timezone: Europe/Berlin, weekdays: [sunday], start: "02:00", end: "04:00"}
  - name: migration
    match: {service: search-api}
    starts_at: 2026-03-18T08:00:00Z
    ends_at: 2026-03-18T09:00:00Z
"""


def test_recurring_maintenance_window(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, SILENCES)
    sunday_3am = at("2026-03-15T03:00:00+01:00")
    decision = classify(alert(service="search-api", source_severity="P1"), ruleset, sunday_3am)
    assert decision.suppression is not None and not decision.page
    assert decision.suppression.kind is Suppressed.MAINTENANCE
    assert decision.suppression.reason == (
        f"maintenance 'reindex' ({tmp_path}/rules.yml:7): weekly reindex"
    )
    assert (
        classify(
            alert(service="search-api", source_severity="P1"),
            ruleset,
            at("2026-03-15T04:00:00+01:00"),
        ).suppression
        is None
    )
    assert classify(alert(service="checkout-api"), ruleset, sunday_3am).suppression is None


def test_one_shot_silence_has_a_start_and_an_end(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, SILENCES)
    labels = {"service": "search-api"}
    names = [
        [s.name for s in active_silences(ruleset, labels, at(t))]
        for t in ("2026-03-18T07:59:59Z", "2026-03-18T08:00:00Z", "2026-03-18T09:00:00Z")
    ]
    assert names == [[], ["migration"], []]
    decision = classify(alert(service="search-api"), ruleset, at("2026-03-18T08:30:00Z"))
    assert decision.suppression is not None
    assert decision.suppression.kind is Suppressed.SILENCE
    assert decision.suppression.until == at("2026-03-18T09:00:00Z")


INHIBIT = """
teams:
  checkout: {}
routes:
  - {name: catch-all, team: checkout}
inhibit_rules:
  - name: outage-mutes-minor
    source_match: {severity: [SEV1, SEV2]}
    target_match: {severity: [SEV3, SEV4]}
    equal: [service, environment]
"""


def test_open_sev1_inhibits_minor_alerts_sharing_equal_labels(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, INHIBIT)
    minor = classify(
        alert(service="checkout-api", environment="prod", source_severity="P3"), ruleset, 0
    )
    sev1 = {"severity": "SEV1", "service": "checkout-api", "environment": "prod"}
    other_env = sev1 | {"environment": "staging"}
    sev3 = sev1 | {"severity": "SEV3"}
    found = check_inhibition(ruleset, minor.labels, [other_env, sev3, sev1])
    assert found is not None and found.kind is Suppressed.INHIBITED
    assert found.reason == (
        f"inhibited by 'outage-mutes-minor' ({tmp_path}/rules.yml:7): an "
        "open SEV1 incident shares service=checkout-api, environment=prod"
    )
    assert check_inhibition(ruleset, minor.labels, [other_env, sev3]) is None


def test_major_alerts_are_never_inhibited_by_this_rule(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, INHIBIT)
    major = classify(
        alert(service="checkout-api", environment="prod", source_severity="P2"), ruleset, 0
    )
    sev1 = {"severity": "SEV1", "service": "checkout-api", "environment": "prod"}
    assert check_inhibition(ruleset, major.labels, [sev1]) is None


def test_an_empty_equal_label_on_either_side_never_inhibits(tmp_path: Path) -> None:
    """Empty is not equal to empty: an open SEV1 without a service must not mute minor alerts
    of every service, nor one without a service be muted by any outage."""
    ruleset = rules(tmp_path, INHIBIT)
    no_service = classify(alert(environment="prod", source_severity="P3"), ruleset, 0)
    with_service = classify(
        alert(service="checkout-api", environment="prod", source_severity="P3"), ruleset, 0
    )
    sev1_no_service = {"severity": "SEV1", "service": "", "environment": "prod"}
    sev1_no_labels = {"severity": "SEV1", "environment": "prod"}  # no service label at all
    sev1 = {"severity": "SEV1", "service": "checkout-api", "environment": "prod"}
    assert check_inhibition(ruleset, no_service.labels, [sev1_no_service, sev1_no_labels]) is None
    assert check_inhibition(ruleset, no_service.labels, [sev1]) is None
    assert check_inhibition(ruleset, with_service.labels, [sev1_no_service]) is None
    assert check_inhibition(ruleset, with_service.labels, [sev1]) is not None


def test_a_rule_can_opt_in_to_empty_matching_empty(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, INHIBIT + "    equal_empty: true\n")
    no_service = classify(alert(environment="prod", source_severity="P3"), ruleset, 0)
    found = check_inhibition(
        ruleset, no_service.labels, [{"severity": "SEV1", "environment": "prod"}]
    )
    assert found is not None and found.kind is Suppressed.INHIBITED


POLICY = FlapPolicy(state_changes=4, window_s=3600, hold_s=1800)


def test_flapping_needs_n_changes_inside_the_window() -> None:
    now = 10_000.0
    assert check_flapping(POLICY, [now - 3000, now - 2000, now - 1000], now) is None
    assert check_flapping(POLICY, [now - 3700, now - 2000, now - 1000, now - 10], now) is None
    found = check_flapping(POLICY, [now - 3000, now - 2000, now - 1000, now - 10], now)
    assert found is not None and found.kind is Suppressed.FLAPPING
    assert found.reason == (
        "flapping: 4 state changes in 1h (limit 4); notifications held until quiet for 30m"
    )
    assert found.until == now - 10 + 1800


def test_suppression_for_checks_silence_then_inhibition_then_flapping(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, INHIBIT)
    decision = classify(alert(service="x", environment="prod", source_severity="P3"), ruleset, 0)
    assert suppression_for(decision, ruleset, 0) is None
    changes = [float(t) for t in range(-500, 1, 100)]  # 6 changes: the default limit
    flapping = suppression_for(decision, ruleset, 0, state_changes=changes)
    assert flapping is not None and flapping.kind is Suppressed.FLAPPING
    inhibited = suppression_for(
        decision, ruleset, 0, [{"severity": "SEV2", "service": "x", "environment": "prod"}], changes
    )
    assert inhibited is not None and inhibited.kind is Suppressed.INHIBITED
