"""The brute-force guard on KLAXON_API_TOKEN (app/token_guard.py): wrong tokens are counted per
client address in Redis, on the app's clock; past the limit the address gets 429 with
Retry-After, as JSON from the API and as the sign-in page, and its tokens are not checked."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest
from conftest import SECRETS

from app import create_app
from app.errors import TooManyAttempts
from app.http_errors import answer_for
from app.store import keys
from app.store.connection import connect
from app.store.token_failures import MAX_FAILURES, WINDOW_SECONDS
from app.token_guard import client_of

TOKEN = SECRETS["KLAXON_API_TOKEN"]


def test_too_many_attempts_is_a_429_that_says_when_to_come_back() -> None:
    answer = answer_for(TooManyAttempts(42))
    assert answer.status == 429
    assert answer.headers == {"Retry-After": "42"}
    assert answer.body == {
        "error": "too_many_attempts",
        "message": "too many wrong tokens from this address; try again in 42 seconds",
        "retry_after": 42,
    }
    assert answer.log_fields["error"] == "too_many_attempts"


# -- through the app ------------------------------------------------------------------------

API = "/api/incidents"
WRONG = "wrong-guess-9f8e7d6c"
ROUTER = "10.1.2.3"  # what a dyno sees connect: Heroku's router
CLIENT, OTHER = "203.0.113.7", "198.51.100.9"


def lines(logs: io.StringIO, logger: str = "klaxon.auth") -> list[dict]:
    return [
        line for line in map(json.loads, logs.getvalue().splitlines()) if line["logger"] == logger
    ]


def csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def api_get(client, token: str | None, forwarded_for: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return client.get(API, headers=headers)


def basic(client, token: str, path: str = "/incidents"):
    encoded = base64.b64encode(f"me:{token}".encode()).decode()
    return client.get(path, headers={"Authorization": f"Basic {encoded}"})


def sign_in_form(client, token: str, csrf_token: str):
    return client.post("/login", data={"token": token, "csrf_token": csrf_token})


def block(client, forwarded_for: str | None = None) -> None:
    for _ in range(MAX_FAILURES):
        assert api_get(client, WRONG, forwarded_for).status_code == 401


def app_with(settings, redis_client, clock, **changes):
    return create_app(settings.with_changes(**changes), connection=redis_client, clock=clock)


def test_wrong_api_tokens_past_the_limit_get_429_and_the_right_token_too(app) -> None:
    client = from_address(app, CLIENT)
    block(client)
    for token in (WRONG, TOKEN):
        refused = api_get(client, token)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(WINDOW_SECONDS)
        assert refused.get_json() == {
            "error": "too_many_attempts",
            "retry_after": WINDOW_SECONDS,
            "message": f"too many wrong tokens from this address; try again in "
            f"{WINDOW_SECONDS} seconds",
        }


def test_another_address_is_unaffected(app) -> None:
    block(from_address(app, CLIENT))
    other = from_address(app, OTHER)
    assert api_get(other, TOKEN).status_code == 200
    assert api_get(other, WRONG).status_code == 401


def test_the_window_ending_lets_the_address_in_again(app, clock) -> None:
    client = from_address(app, CLIENT)
    block(client)
    clock.advance(WINDOW_SECONDS - 300)
    assert api_get(client, TOKEN).headers["Retry-After"] == "300"
    clock.advance(300)
    assert api_get(client, TOKEN).status_code == 200


def test_right_tokens_are_not_counted_and_do_not_erase_wrong_ones(app) -> None:
    client = from_address(app, CLIENT)
    for _ in range(3 * MAX_FAILURES):
        assert api_get(client, TOKEN).status_code == 200
    for _ in range(MAX_FAILURES - 1):
        assert api_get(client, WRONG).status_code == 401
    assert api_get(client, TOKEN).status_code == 200
    assert api_get(client, WRONG).status_code == 401  # the tenth wrong one
    assert api_get(client, TOKEN).status_code == 429


def test_requests_without_a_bearer_token_are_not_guesses(app, redis_client) -> None:
    client = from_address(app, CLIENT)
    for _ in range(3 * MAX_FAILURES):
        assert api_get(client, None).status_code == 401
        assert client.get(API, headers={"Authorization": f"Token {WRONG}"}).status_code == 401
    assert redis_client.keys(f"{keys.PREFIX}:token-failures:*") == []
    assert api_get(client, TOKEN).status_code == 200


def test_without_a_configured_token_nothing_is_counted(settings, redis_client, clock) -> None:
    app = app_with(settings, redis_client, clock, api_token="")
    client = from_address(app, CLIENT)
    for _ in range(3 * MAX_FAILURES):
        assert api_get(client, WRONG).get_json()["message"].startswith("the API is disabled")
    assert redis_client.keys(f"{keys.PREFIX}:token-failures:*") == []


def test_the_sign_in_form_past_the_limit_says_why_and_for_how_long(app, clock) -> None:
    client = from_address(app, CLIENT)
    csrf_token = csrf(client, "/login")
    for _ in range(MAX_FAILURES):
        assert sign_in_form(client, WRONG, csrf_token).status_code == 401
    clock.advance(60)
    refused = sign_in_form(client, TOKEN, csrf_token)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(WINDOW_SECONDS - 60)
    page = refused.get_data(as_text=True)
    assert (
        '<p class="error" role="alert" id="login-error">Too many wrong tokens from your '
        "address. Sign-in is paused for 14m; until then no token entered here is checked, "
        "not even the right one.</p>"
    ) in page
    assert '<form method="post"' in page  # still there for when the pause is over
    assert client.get("/incidents").status_code == 303  # not signed in
    clock.advance(WINDOW_SECONDS)
    assert sign_in_form(client, TOKEN, csrf_token).status_code == 303


def test_basic_auth_is_counted_and_refused_past_the_limit(app) -> None:
    client = from_address(app, CLIENT)
    for _ in range(MAX_FAILURES):
        assert basic(client, WRONG).status_code == 401
    refused = basic(client, TOKEN)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(WINDOW_SECONDS)
    assert "too many wrong tokens from this address" in refused.get_data(as_text=True)
    assert basic(from_address(app, OTHER), TOKEN).status_code == 200


def test_every_way_in_draws_on_one_budget(app) -> None:
    client = from_address(app, CLIENT)
    csrf_token = csrf(client, "/login")
    for _ in range(MAX_FAILURES // 2):
        assert api_get(client, WRONG).status_code == 401
        assert sign_in_form(client, WRONG, csrf_token).status_code == 401
    assert basic(client, TOKEN).status_code == 429
    assert api_get(client, TOKEN).status_code == 429


def test_a_signed_in_session_is_never_refused(app) -> None:
    client = from_address(app, CLIENT)
    assert sign_in_form(client, TOKEN, csrf(client, "/login")).status_code == 303
    block(client)
    assert api_get(client, TOKEN).status_code == 429
    assert client.get("/incidents").status_code == 200  # the session checks no token


def test_each_refusal_is_logged_without_the_token(app, logs) -> None:
    client = from_address(app, CLIENT)
    block(client)
    api_get(client, TOKEN)
    basic(client, WRONG)
    assert [
        (line["level"], line["client"], line["via"], line["retry_after"]) for line in lines(logs)
    ] == [("warning", CLIENT, "api", WINDOW_SECONDS), ("warning", CLIENT, "basic", WINDOW_SECONDS)]
    text = logs.getvalue()
    assert WRONG not in text and TOKEN not in text and "[Filtered]" not in text
    assert [line["status"] for line in lines(logs, "klaxon.request")][-2:] == [429, 429]


def test_forwarded_for_is_ignored_without_trusted_proxies(settings, redis_client, clock) -> None:
    """Behind Heroku's router with the setting left at 0, every client is the router: a
    header the client writes changes nothing (and everyone shares one budget: set it to 1)."""
    app = app_with(settings, redis_client, clock, trusted_proxies=0)
    client = from_address(app, ROUTER)
    for number in range(MAX_FAILURES):
        assert api_get(client, WRONG, f"192.0.2.{number}").status_code == 401
    assert api_get(client, TOKEN, "192.0.2.200").status_code == 429
    assert api_get(client, TOKEN, OTHER).status_code == 429


def test_with_one_trusted_proxy_the_rightmost_entry_is_the_client(
    settings, redis_client, clock
) -> None:
    """Heroku's router appends the address it saw connect; what the client sent before it is
    the client's own and cannot dodge the count."""
    app = app_with(settings, redis_client, clock, trusted_proxies=1)
    client = from_address(app, ROUTER)
    for number in range(MAX_FAILURES):
        assert api_get(client, WRONG, f"192.0.2.{number}, {CLIENT}").status_code == 401
    assert api_get(client, TOKEN, f"192.0.2.200, {CLIENT}").status_code == 429
    assert api_get(client, TOKEN, CLIENT).status_code == 429
    assert api_get(client, TOKEN, f"{CLIENT}, {OTHER}").status_code == 200  # someone else


def test_ipv6_addresses_count_per_64(settings, redis_client, clock) -> None:
    app = app_with(settings, redis_client, clock, trusted_proxies=1)
    client = from_address(app, ROUTER)
    for number in range(1, MAX_FAILURES + 1):
        assert api_get(client, WRONG, f"2001:db8:1:2::{number:x}").status_code == 401
    assert api_get(client, TOKEN, "2001:db8:1:2:ffff:ffff:ffff:ffff").status_code == 429
    assert api_get(client, TOKEN, "2001:db8:1:3::1").status_code == 200


@pytest.mark.parametrize(
    ("address", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (None, "unknown"),
        ("localhost", "localhost"),
    ],
)
def test_what_an_address_is_counted_as(address, client) -> None:
    assert client_of(address) == client


@pytest.fixture
def app_without_redis(settings, clock):
    connection = connect("redis://127.0.0.1:1/0")  # nothing listens on port 1
    yield create_app(settings, connection=connection, clock=clock)
    connection.close()


def test_unreachable_redis_never_turns_a_token_check_into_a_500(app_without_redis, logs) -> None:
    """Fail open: the token is checked without counting, and each such check is logged."""
    client = from_address(app_without_redis, CLIENT)
    csrf_token = csrf(client, "/login")
    for _ in range(MAX_FAILURES + 2):
        assert sign_in_form(client, WRONG, csrf_token).status_code == 401
        assert basic(client, WRONG).status_code == 401
        assert api_get(client, WRONG).status_code == 401
    assert sign_in_form(client, TOKEN, csrf_token).status_code == 303
    assert client.get("/login").status_code == 200
    guard = lines(logs)
    assert len(guard) == 3 * (MAX_FAILURES + 2) + 1
    assert {(line["msg"], line["error"]) for line in guard} == {
        ("token guard unavailable: token checked without counting", "ConnectionError")
    }
    assert WRONG not in logs.getvalue() and TOKEN not in logs.getvalue()
