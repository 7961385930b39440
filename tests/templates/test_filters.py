"""The filters templates may use."""

from __future__ import annotations

import pytest

from app.messages.filters import count, truncate_words
from app.messages.wording import (
    duration,
    impact_effect,
    impact_noun,
    impact_title,
    status_word,
    utc,
)

T0 = 1_773_479_640  # 2026-03-14 09:14:00 UTC


@pytest.mark.parametrize(
    "seconds, expected",
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m"),
        (18 * 60 + 59, "18m"),
        (3900, "1h 5m"),
        (3600, "1h"),
        (2 * 86400 + 3 * 3600 + 5 * 60, "2d 3h"),
        (-5, "0s"),
        (None, "unknown"),
        (59.9, "59s"),
    ],
)
def test_duration(seconds, expected) -> None:
    assert duration(seconds) == expected


def test_utc_time_and_date() -> None:
    assert utc(T0) == "09:14 UTC"
    assert utc(T0, with_date=True) == "2026-03-14 09:14 UTC"
    assert utc(None) == "unknown"


def test_truncate_words_collapses_whitespace_and_cuts_at_a_word() -> None:
    assert truncate_words("p99  latency\nhigh", 50) == "p99 latency high"
    assert truncate_words("checkout latency is high on every region", 20) == "checkout latency is…"


def test_count() -> None:
    assert (count(1, "alert"), count(0, "alert"), count(240, "alert")) == (
        "1 alert",
        "0 alerts",
        "240 alerts",
    )


def test_public_impact_words_per_component_status() -> None:
    assert (
        impact_title("partial_outage"),
        impact_noun("partial_outage"),
        impact_effect("partial_outage"),
    ) == ("Partial outage", "a partial outage", "Some customers may see errors or failed requests.")
    assert (impact_title("operational"), impact_noun("operational")) == (
        "Service issue",
        "an issue",
    )


def test_status_word() -> None:
    assert [status_word(s) for s in ("investigating", "monitoring", "odd")] == [
        "Investigating",
        "Monitoring",
        "Odd",
    ]
