"""The Settings table (app/settings.py): every field is a row or derived from rows, and what
each row says (type, secret, channel) is what reading and scrubbing do."""

from __future__ import annotations

from dataclasses import fields

import pytest

from app.errors import ConfigError
from app.settings import DEFAULT_REDIS_URL, VARIABLES, Settings

DERIVED = {"session_cookie_secure", "environment"}  # computed in from_env, not variables


def test_every_field_is_a_row_a_group_of_rows_or_derived() -> None:
    for each in fields(Settings):
        assert "variable" in each.metadata or "group" in each.metadata or each.name in DERIVED, (
            f"Settings.{each.name} reads no variable: give it a row (var(...))"
        )


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_a_secret_is_scrubbed_and_nothing_else_is(name: str) -> None:
    value = f"https://user:{name.lower()}-value@example.invalid"  # a URL with a password
    try:
        settings = Settings.from_env({name: value})
    except ConfigError:  # a number
        value = "12345678"
        settings = Settings.from_env({name: value})
    scrubbed = settings.secret_values()
    if VARIABLES[name].secret:
        assert value in scrubbed
    else:
        assert not any(value in secret for secret in scrubbed)


@pytest.mark.parametrize("name", sorted(n for n, row in VARIABLES.items() if row.secret))
def test_a_secret_is_not_in_the_repr(name: str) -> None:
    value = f"https://user:{name.lower()}-value@example.invalid"
    assert "-value@" not in repr(Settings.from_env({name: value}))


def test_a_redis_url_without_a_password_is_no_secret() -> None:
    assert Settings.from_env({"REDIS_URL": "redis://127.0.0.1:6390/0"}).secret_values() == []


def test_outbound_holds_the_channel_rows_that_are_set() -> None:
    channel_rows = {n for n, row in VARIABLES.items() if row.for_channels}
    assert {"OPSGENIE_API_KEY", "X_API_URL", "PAGERDUTY_CA_FILE"} <= channel_rows
    settings = Settings.from_env(
        {name: f"v-{name}" for name in channel_rows | {"KLAXON_API_TOKEN"}}
    )
    assert settings.outbound == {name: f"v-{name}" for name in channel_rows}
    assert Settings.from_env({}).outbound == {}


def test_one_default_redis_url() -> None:
    assert Settings.from_env({}).redis_connection_url == DEFAULT_REDIS_URL
    given = "redis://127.0.0.1:6390/3"
    assert Settings.from_env({"REDIS_URL": given}).redis_connection_url == given
    assert Settings.from_env({}).redis_url is None  # `klaxon release` tells "not set" apart
