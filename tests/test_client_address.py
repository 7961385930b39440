"""Which address a request comes from (request.remote_addr, what the token guard counts):
X-Forwarded-For only counts with KLAXON_TRUSTED_PROXIES set, and then only the entries the
trusted proxies appended, so a client cannot pick its own address. The webhook fast path sees
the same address as Flask."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_fixture
from flask import request
from webhook_helpers import authentic, send

from app import create_app, webhooks
from app.errors import ConfigError
from app.settings import Settings

ROOT = Path(__file__).parent.parent

ROUTER = "10.1.2.3"  # what a dyno sees connect: Heroku's router
CLIENT = "203.0.113.7"


def whoami_app(settings, redis_client, clock, hops: int):
    app = create_app(
        settings.with_changes(trusted_proxies=hops), connection=redis_client, clock=clock
    )
    app.add_url_rule("/test-whoami", "whoami", lambda: {"address": request.remote_addr})
    return app


def address(app, forwarded_for: str | None = None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    response = app.test_client().get(
        "/test-whoami", headers=headers, environ_base={"REMOTE_ADDR": ROUTER}
    )
    return response.get_json()["address"]


def test_trusted_proxies_default_to_none_and_must_not_be_negative() -> None:
    assert Settings.from_env({}).trusted_proxies == 0
    assert Settings.from_env({"KLAXON_TRUSTED_PROXIES": "1"}).trusted_proxies == 1
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"KLAXON_TRUSTED_PROXIES": "-1"})
    assert raised.value.problems == ["KLAXON_TRUSTED_PROXIES must be 0 or more, got -1"]
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"KLAXON_TRUSTED_PROXIES": "one"})
    assert raised.value.problems == [
        "KLAXON_TRUSTED_PROXIES must be a whole number of proxies, got 'one'"
    ]


def test_without_trusted_proxies_forwarded_for_is_ignored(settings, redis_client, clock) -> None:
    app = whoami_app(settings, redis_client, clock, hops=0)
    assert address(app) == ROUTER
    assert address(app, CLIENT) == ROUTER


def test_with_one_trusted_proxy_the_rightmost_entry_is_the_client(
    settings, redis_client, clock
) -> None:
    app = whoami_app(settings, redis_client, clock, hops=1)
    assert address(app, CLIENT) == CLIENT
    # The client sent its own header; the router appended the address it saw connect.
    assert address(app, f"198.51.100.9, {CLIENT}") == CLIENT
    assert address(app, f"1.1.1.1,8.8.8.8 , {CLIENT}") == CLIENT
    assert address(app) == ROUTER  # no header: no proxy in between, the peer is the client


def test_with_two_trusted_proxies_the_second_from_the_right_is_the_client(
    settings, redis_client, clock
) -> None:
    app = whoami_app(settings, redis_client, clock, hops=2)  # a CDN in front of Heroku
    assert address(app, f"198.51.100.9, {CLIENT}, 192.0.2.44") == CLIENT
    assert address(app, CLIENT) == ROUTER  # fewer entries than proxies: trust none of them


def test_the_webhook_fast_path_sees_the_same_client_address(
    settings, redis_client, clock, monkeypatch
) -> None:
    seen: list[str | None] = []
    handle = webhooks.handle

    def spy(klaxon, request, source_name, fields):
        seen.append(request.remote_addr)
        return handle(klaxon, request, source_name, fields)

    monkeypatch.setattr(webhooks, "handle", spy)
    app = whoami_app(settings, redis_client, clock, hops=1)
    fixture = load_fixture("datadog", "triggered")
    response = send(
        app.test_client(),
        fixture,
        headers={**authentic(fixture)[0], "X-Forwarded-For": f"198.51.100.9, {CLIENT}"},
    )
    assert response.status_code == 202
    assert seen == [CLIENT]


@pytest.mark.parametrize(
    ("environ", "warned"),
    [
        ({"DYNO": "release.1234"}, True),
        ({"DYNO": "release.1234", "KLAXON_TRUSTED_PROXIES": "1"}, False),
        ({}, False),  # not on Heroku: no router in front
    ],
)
def test_the_release_phase_warns_when_heroku_router_addresses_would_be_counted(
    environ, warned
) -> None:
    from app.release import check_release

    check = check_release({**environ, "KLAXON_RULES_DIR": str(ROOT / "rules")})
    assert any("KLAXON_TRUSTED_PROXIES is 0 on Heroku" in w for w in check.warnings) is warned
