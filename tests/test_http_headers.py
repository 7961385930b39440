"""Headers about the deployment: /api/* answers are never cached and carry the pages'
security headers; HSTS when KLAXON_PUBLIC_URL is https; the session cookie is Secure unless
KLAXON_PUBLIC_URL is an http:// URL."""

from __future__ import annotations

import pytest
from conftest import SECRETS, load_fixture
from test_pages import TOKEN, csrf
from webhook_helpers import send

from app import create_app
from app.settings import Settings

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}


def client_for(settings: Settings, redis_client, clock, **environment: str):
    changed = Settings.from_env({**settings.environment, **environment})
    return create_app(changed, connection=redis_client, clock=clock).test_client()


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/incidents", AUTH, 200),
        ("/api/incidents", {}, 401),  # refused answers too
        ("/api/incidents/INC-2026-0999", AUTH, 404),
        ("/api/no-such-route", AUTH, 404),
    ],
)
def test_api_answers_are_not_cached_and_carry_the_security_headers(
    client, path, headers, status
) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_api_writes_are_not_cached_either(client) -> None:
    response = client.post("/api/incidents", json={}, headers=AUTH)
    assert response.status_code == 400 and response.headers["Cache-Control"] == "no-store"


def test_https_public_url_sends_hsts_everywhere(settings, redis_client, clock) -> None:
    client = client_for(settings, redis_client, clock, KLAXON_PUBLIC_URL="https://klaxon.example")
    answers = [
        client.get("/status"),
        client.get("/login"),
        client.get("/api/incidents", headers=AUTH),
        client.get("/healthz"),
        send(client, load_fixture("datadog", "triggered")),  # the webhook fast path
    ]
    for response in answers:
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_http_public_url_sends_no_hsts(settings, redis_client, clock) -> None:
    client = client_for(settings, redis_client, clock, KLAXON_PUBLIC_URL="http://localhost:8000")
    assert "Strict-Transport-Security" not in client.get("/status").headers
    assert (
        "Strict-Transport-Security"
        not in send(client, load_fixture("datadog", "triggered")).headers
    )


def _session_cookie(client) -> str:
    response = client.post("/login", data={"token": TOKEN, "csrf_token": csrf(client, "/login")})
    assert response.status_code == 303
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if "klaxon_session=" in c]
    return cookie


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [("https://klaxon.example", True), (None, True), ("http://localhost:8000", False)],
)
def test_session_cookie_is_secure_unless_the_public_url_is_http(
    settings, redis_client, clock, public_url, secure
) -> None:
    environment = {} if public_url is None else {"KLAXON_PUBLIC_URL": public_url}
    base = settings.environment
    assert "KLAXON_PUBLIC_URL" not in base
    cookie = _session_cookie(client_for(settings, redis_client, clock, **environment))
    assert ("; Secure" in cookie) is secure
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
