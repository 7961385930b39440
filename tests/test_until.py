"""`klaxon maintenance --until` as a person types it: durations and zoned ISO times, or a
one-line error (never a traceback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from app.cli import main
from app.until import parse_until

NOW = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "later"),
    [
        ("2h", timedelta(hours=2)),
        ("30m", timedelta(minutes=30)),
        ("1d", timedelta(days=1)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations_count_from_now(text: str, later: timedelta) -> None:
    assert parse_until(text, NOW) == NOW + later


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("2026-12-04T18:00Z", datetime(2026, 12, 4, 18, 0, tzinfo=UTC)),
        ("2026-12-04T18:00:00+00:00", datetime(2026, 12, 4, 18, 0, tzinfo=UTC)),
        (
            "2026-12-04T19:30+01:00",
            datetime(2026, 12, 4, 19, 30, tzinfo=timezone(timedelta(hours=1))),
        ),
    ],
)
def test_iso_times_with_a_zone(text: str, end: datetime) -> None:
    assert parse_until(text, NOW) == end


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-12-04T18:00", "has no time zone: add one (2026-12-04T18:00Z for UTC"),
        ("2026-12-04", "has no time zone"),
        ("tomorrow", "is neither a duration (2h, 30m, 1d, 90s) nor an ISO 8601 time"),
        ("2 hours", "is neither a duration"),
        ("-2h", "is neither a duration"),
        ("", "is neither a duration"),
        ("0m", "is no time at all"),
        ("2026-12-04T13:00Z", "is in the past"),
        ("400d", "is over a year"),
    ],
)
def test_what_is_refused_says_why_in_one_line(text: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_until(text, NOW)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("until", ["2026-12-04T18:00", "soon", "0s"])
def test_the_cli_refuses_a_bad_until_before_touching_redis(until: str) -> None:
    # No REDIS_URL and no `klaxon run` here: the value is refused before either is looked for.
    result = CliRunner().invoke(
        main, ["maintenance", "on", "--until", until], env={"REDIS_URL": ""}
    )
    assert result.exit_code == 2
    assert "Invalid value for '--until'" in result.output
    assert isinstance(result.exception, SystemExit)  # click's usage error, no traceback


def test_the_cli_refuses_until_without_on() -> None:
    result = CliRunner().invoke(main, ["maintenance", "off", "--until", "2h"])
    assert result.exit_code == 2
    assert "only goes with `on`" in result.output
