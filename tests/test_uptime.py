"""Ninety days of uptime per public component from incident history (app/pages/uptime.py),
on the virtual clock: each day's downtime at its worst status, overlaps counted once, days
split at midnight UTC, open incidents counted until now, days before the kept history
without data; and which incidents count at all."""

from __future__ import annotations

import pytest

from app.clock import VirtualClock
from app.drill import DRILL
from app.pages.uptime import DAY, DAYS, Outage, outages, uptime
from app.ruleset import load_ruleset
from app.ruleset.vocabulary import ComponentStatus

MAJOR, PARTIAL, DEGRADED = (
    ComponentStatus.MAJOR_OUTAGE,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.DEGRADED_PERFORMANCE,
)
MINUTE = 60


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()  # Saturday 2026-03-14 09:00 UTC


def today(clock: VirtualClock) -> float:
    return clock.now() // DAY * DAY


def test_a_day_with_nothing_is_operational_and_uptime_is_perfect(clock) -> None:
    [history] = uptime([], ["Checkout API"], clock.now()).values()
    assert len(history.days) == DAYS and history.days[-1].start == today(clock)
    assert {d.status for d in history.days} == {"operational"}
    assert history.percent_text == "100.00"
    assert history.days[-1].summary == "Sat 14 Mar 2026: no downtime"


def test_an_outage_counts_on_its_day_with_its_status_and_duration(clock) -> None:
    start = clock.now() - 2 * DAY  # Thursday 09:00
    outage = Outage("Checkout API", MAJOR, start, start + 40 * MINUTE)
    history = uptime([outage], ["Checkout API"], clock.advance(3600))["Checkout API"]
    day = history.days[-3]
    assert day.status == "major_outage" and day.seconds == {MAJOR: 40 * MINUTE}
    assert day.summary == "Thu 12 Mar 2026: major outage 40m"
    measured = (DAYS - 1) * DAY + 10 * 3600  # today only up to 10:00
    assert history.measured_seconds == measured
    assert history.percent == pytest.approx(100 * (1 - 40 * MINUTE / measured))
    assert history.percent_text == "99.96"


def test_overlapping_outages_count_once_at_the_worst(clock) -> None:
    start = today(clock) - DAY + 3600  # yesterday 01:00
    spans = [
        Outage("Search", PARTIAL, start, start + 60 * MINUTE),
        Outage("Search", MAJOR, start + 20 * MINUTE, start + 30 * MINUTE),
        Outage("Search", DEGRADED, start + 50 * MINUTE, start + 90 * MINUTE),
    ]
    day = uptime(spans, ["Search"], clock.now())["Search"].days[-2]
    assert day.seconds == {PARTIAL: 50 * MINUTE, MAJOR: 10 * MINUTE, DEGRADED: 30 * MINUTE}
    assert day.status == "major_outage"
    assert day.summary == (
        "Fri 13 Mar 2026: major outage 10m, partial outage 50m, degraded performance 30m"
    )


def test_partial_outage_weighs_30_percent_and_degraded_nothing(clock) -> None:
    start = today(clock) - 5 * DAY
    spans = [
        Outage("Search", PARTIAL, start, start + 1000),
        Outage("Search", DEGRADED, start + DAY, start + DAY + 5000),
    ]
    history = uptime(spans, ["Search"], clock.now())["Search"]
    assert history.percent == pytest.approx(100 * (1 - 300 / history.measured_seconds))


def test_an_outage_over_midnight_is_split_between_the_days(clock) -> None:
    start = today(clock) - DAY - 30 * MINUTE  # Thursday 23:30 to Friday 00:45
    history = uptime([Outage("Checkout API", MAJOR, start, start + 75 * MINUTE)], [], clock.now())[
        "Checkout API"
    ]
    assert [d.seconds for d in history.days[-3:-1]] == [
        {MAJOR: 30 * MINUTE},
        {MAJOR: 45 * MINUTE},
    ]


def test_an_open_outage_counts_until_now_and_grows_with_the_clock(clock) -> None:
    outage = Outage("Checkout API", MAJOR, clock.now() - 10 * MINUTE, None)
    assert uptime([outage], [], clock.now())["Checkout API"].days[-1].seconds == {
        MAJOR: 10 * MINUTE
    }
    clock.advance(20 * MINUTE)
    assert uptime([outage], [], clock.now())["Checkout API"].days[-1].seconds == {
        MAJOR: 30 * MINUTE
    }


def test_outages_older_than_the_window_do_not_count(clock) -> None:
    start = today(clock) - DAYS * DAY - 3600
    history = uptime([Outage("Search", MAJOR, start, start + 1800)], ["Search"], clock.now())
    assert history["Search"].percent_text == "100.00"


def test_days_before_the_kept_history_have_no_data(clock) -> None:
    kept_since = clock.now() - 30 * DAY  # KLAXON_RETENTION_DAYS=30
    history = uptime([], ["Search"], clock.now(), kept_since)["Search"]
    statuses = [d.status for d in history.days]
    assert statuses[:59] == ["no-data"] * 59 and set(statuses[60:]) == {"operational"}
    assert history.measured_seconds == pytest.approx(30 * DAY)
    assert history.days[0].summary.endswith(": no data")


def test_only_public_incidents_are_outages_under_their_declared_component() -> None:
    ruleset = load_ruleset("rules")  # SEV1 major_outage, SEV2 partial_outage; SEV3/4 private
    at = "1773478800.0"
    incidents = [
        {
            "severity": "SEV1",
            "service": "checkout-api",
            "created_at": at,
            "resolved_at": "1773479800",
        },
        {"severity": "SEV2", "service": "somebody-elses-label", "created_at": at},
        {"severity": "SEV3", "service": "checkout-api", "created_at": at},
        {
            "severity": "SEV1",
            "service": "checkout-api",
            "created_at": at,
            "rule": DRILL,
            "team": DRILL,
        },
        {"severity": "SEV1", "service": "checkout-api"},  # half-written: no times
    ]
    assert outages(incidents, ruleset) == [
        Outage("Checkout API", MAJOR, 1773478800.0, 1773479800.0),
        Outage("General", PARTIAL, 1773478800.0, None),
    ]
