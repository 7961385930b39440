"""Shared fixtures: a real Redis (REDIS_URL, else 127.0.0.1:6379, else an embedded one) on an
empty database that is flushed before and after every test, settings with the fixture secrets,
the app and its client, and the byte-exact webhook fixtures."""

from __future__ import annotations

import io
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from werkzeug.datastructures import Headers

from app import create_app
from app.clock import VirtualClock
from app.settings import Settings
from app.store.connection import connect, is_reachable, start_embedded

pytest_plugins = ["fakes.plugin"]  # fake_pagerduty, fake_opsgenie, fake_statuspage, fake_x

DATA = Path(__file__).parent / "data"
WEBHOOKS = DATA / "webhooks"

SECRETS = {
    "PAGERDUTY_WEBHOOK_SECRET": "RmoDsJSNjbIuuLKC3rgYbNAFyvP6tScrSsYT8pYFtYMr/iLjyY7iq+jeYytgeOwH,"
    "guF6LQsx1Qr1AYez9rRtxs+b2wLFcSosGPbObg0eYxq22u0DL9/+RhAQ74onZBrl",
    "SENTRY_CLIENT_SECRET": "1da368e27d44d78e6f3ca930a120a96ac003984b187af0f5126b23a6da3d7114",
    "SENTRY_LEGACY_WEBHOOK_TOKEN": "sentry-legacy-token-7f3a9c",
    "OPSGENIE_WEBHOOK_TOKEN": "og-shared-token-5c1e9b7a2d",
    "DATADOG_WEBHOOK_TOKEN": "dd-shared-token-8e2d4f6a1c",
    "ALERTMANAGER_WEBHOOK_TOKEN": "am-shared-token-2b7e9c4d1f",
    "GRAFANA_WEBHOOK_SECRET": "grafana-example-hmac-secret",
    "GRAFANA_TIMESTAMP_HEADER": "X-Grafana-Alerting-Signature-Timestamp",
    "KLAXON_API_TOKEN": "test-api-token-4b9d2e",
    # Change senders (issue 17): two Heroku secrets, as during a rotation (new first).
    "HEROKU_WEBHOOK_SECRET": "heroku-new-secret-3f9a1c,heroku-old-secret-7d2e8b",
    "GITHUB_WEBHOOK_SECRET": "github-webhook-secret-5a8c2e",
}


def free_port() -> int:
    """A loopback port nobody listens on right now, for servers the tests start."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379"
    if is_reachable(url):
        return url
    return start_embedded()


@pytest.fixture(scope="session")
def redis_base_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def redis_url(redis_base_url: str) -> Iterator[str]:
    """A database no one else is using (RQ's own test-suite habit), flushed around each test
    and released at the end of the session."""
    url = _claim_database(redis_base_url)
    yield url
    client = connect(url)
    if client.get(OWNER_KEY) == SESSION_TOKEN.encode() and client.dbsize() == 1:
        client.delete(OWNER_KEY)
    client.close()


def _claim_database(redis_base_url: str) -> str:
    if redis_base_url.startswith("unix://"):
        return redis_base_url + "?db=9"
    base = (
        redis_base_url.rstrip("/").rsplit("/", 1)[0]
        if redis_base_url.count("/") > 2
        else redis_base_url.rstrip("/")
    )
    for db in range(15, 8, -1):
        client = connect(f"{base}/{db}")
        # Claimed atomically and kept claimed (see _claim), so two test sessions sharing one
        # Redis server never pick, and flush, the same database.
        if (
            client.set(OWNER_KEY, SESSION_TOKEN, nx=True, ex=OWNER_TTL_SECONDS)
            and client.dbsize() == 1
        ):
            return f"{base}/{db}"
        if client.get(OWNER_KEY) == SESSION_TOKEN.encode():
            client.delete(OWNER_KEY)  # not empty: someone else's data; leave it alone
    pytest.exit("no empty Redis database among 9-15 for the tests", returncode=3)


OWNER_KEY = "klaxon-tests:claimed-by"  # not the old "owner" key, which any session took over
OWNER_TTL_SECONDS = 900  # a crashed session's claim lapses
SESSION_TOKEN = uuid.uuid4().hex


def _claim(client: redis.Redis) -> None:
    client.set(OWNER_KEY, SESSION_TOKEN, ex=OWNER_TTL_SECONDS)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = connect(redis_url)
    client.flushdb()
    _claim(client)  # flushdb dropped the claim; without it the empty db looks free
    yield client
    client.flushdb()
    _claim(client)
    client.close()


@pytest.fixture(autouse=True)
def _restore_signal_handlers() -> Iterator[None]:
    """In-process RQ workers install SIGTERM/SIGINT handlers; a test must not leave them to
    the next (a child started later would inherit an ignored signal)."""
    import signal

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings.from_env(
        {
            **SECRETS,
            "REDIS_URL": redis_url,
            "KLAXON_RULES_DIR": str(DATA / "rules" / "per-alert"),
            # The fixtures were captured over an hour of one incident and are posted at any
            # virtual time: tests of the send-time window (test_replays.py) turn it back on.
            "KLAXON_WEBHOOK_CLOCK_SKEW": "0",
        }
    )


@pytest.fixture(autouse=True)
def _close_vendor_clients() -> Iterator[None]:
    yield
    from workers.channels._http import close_every_client

    close_every_client()


@pytest.fixture
def logs(app) -> Iterator[io.StringIO]:
    """What Klaxon writes to stderr: the JSON handler configure_logging() installed, pointed
    at a buffer (capfd cannot see it: the handler keeps the stderr of create_app() time)."""
    [handler] = [
        h for h in logging.getLogger("klaxon").handlers if type(h) is logging.StreamHandler
    ]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@pytest.fixture
def app(settings: Settings, redis_client: redis.Redis, clock: VirtualClock):
    return create_app(settings, connection=redis_client, clock=clock)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass(frozen=True)
class Fixture:
    source: str
    name: str
    body: bytes
    headers: dict[str, str]

    @property
    def json(self):
        return json.loads(self.body)

    def header_map(self) -> Headers:
        return Headers(self.headers)


@pytest.fixture
def vendors_in_environment(
    monkeypatch, redis_url, redis_client, fake_pagerduty, fake_statuspage, fake_x
) -> Iterator[dict[str, str]]:
    """The environment a worker dyno would have, every vendor pointed at its loopback fake:
    set in this process (in-process jobs) and returned for worker processes to inherit."""
    from fakes.environment import vendor_environment

    from workers import jobs

    values = vendor_environment(
        SECRETS, redis_url, pagerduty=fake_pagerduty, statuspage=fake_statuspage, x=fake_x
    )
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    yield values
    jobs.forget_runtime()


def load_fixture(source: str, name: str) -> Fixture:
    folder = WEBHOOKS / source
    return Fixture(
        source,
        name,
        (folder / f"{name}.json").read_bytes(),
        json.loads((folder / f"{name}.headers.json").read_text()),
    )


def all_fixtures() -> list[Fixture]:
    return [
        load_fixture(path.parent.name, path.name.removesuffix(".headers.json"))
        for path in sorted(WEBHOOKS.glob("*/*.headers.json"))
    ]


def post(
    client,
    fixture: Fixture,
    body: bytes | None = None,
    headers: dict | None = None,
    query: str = "",
):
    return client.post(
        f"/webhooks/{fixture.source}{query}",
        data=fixture.body if body is None else body,
        headers=fixture.headers if headers is None else headers,
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current templates (review the diff)",
    )
