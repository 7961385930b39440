"""Loopback fakes of the vendor APIs Klaxon calls, for tests that go over real HTTP.

    from fakes import FakeOpsgenie
    with FakeOpsgenie() as og:              # or request the `fake_opsgenie` fixture
        og.fail_next(429, retry_after=30)   # the next request gets a 429
        ...                                 # og.url, og.requests

Fixtures (`fake_pagerduty` over HTTPS, `fake_opsgenie`, `fake_statuspage`, `fake_x`,
`loopback_certificates`) are registered by `fakes.plugin`.
"""

from fakes.server import Answer, FakeServer, Fault, Recorded
from fakes.tls import LoopbackCertificates, make_certificates
from fakes.vendors import FakeOpsgenie, FakePagerDuty, FakeStatuspage, FakeSubscriber, FakeX

__all__ = [
    "Answer",
    "FakeOpsgenie",
    "FakePagerDuty",
    "FakeServer",
    "FakeSubscriber",
    "FakeStatuspage",
    "FakeX",
    "Fault",
    "LoopbackCertificates",
    "Recorded",
    "make_certificates",
]
