"""Pytest fixtures for the vendor fakes: one fresh server per test on a random 127.0.0.1 port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.slack import FakeSlack
from fakes.tls import LoopbackCertificates, make_certificates
from fakes.vendors import FakeOpsgenie, FakePagerDuty, FakeStatuspage, FakeSubscriber, FakeX


@pytest.fixture(scope="session")
def loopback_certificates(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCertificates:
    """A CA (ca_file) and a 127.0.0.1 certificate, for HTTPS fakes."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def fake_pagerduty(loopback_certificates: LoopbackCertificates) -> Iterator[FakePagerDuty]:
    """PagerDuty Events v2 over HTTPS (the client refuses http://); trust `ca_file`."""
    with FakePagerDuty(
        tls=loopback_certificates.server_context(), ca_file=loopback_certificates.ca_file
    ) as fake:
        yield fake


@pytest.fixture
def fake_opsgenie() -> Iterator[FakeOpsgenie]:
    with FakeOpsgenie() as fake:
        yield fake


@pytest.fixture
def fake_statuspage() -> Iterator[FakeStatuspage]:
    with FakeStatuspage() as fake:
        yield fake


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    with FakeX() as fake:
        yield fake


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """The Slack Web API: point SLACK_API_URL at `fake_slack.url + "/api/"`."""
    with FakeSlack(
        users={"alice@example.com": "U0CHKALICE", "bob@example.com": "U0PAYBOB"}
    ) as fake:
        yield fake


@pytest.fixture
def fake_subscriber() -> Iterator[FakeSubscriber]:
    """A status-page subscriber's webhook endpoint."""
    with FakeSubscriber() as fake:
        yield fake
