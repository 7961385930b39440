"""The public-channel guard: leaks are found and redacted, allowed categories pass, secrets
never do."""

from __future__ import annotations

import pytest

from app.messages.public_guard import (
    REDACTED,
    Category,
    Known,
    PublicLeak,
    ensure_public,
    known_from_vars,
    redact,
    scan,
)

KNOWN = Known(
    people=("Marco Bianchi", "Priya Raman"),
    services=("checkout-api",),
    hosts=("web-03",),
    public_hosts=("status.example.com",),
)


def kinds(text: str, allowed: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in scan(text, KNOWN, allowed)]


@pytest.mark.parametrize(
    "text, kind, found",
    [
        ("slow on web-03 since 09:14", "hostname", "web-03"),
        ("node ip-10-0-0-1 is down", "hostname", "ip-10-0-0-1"),
        ("db1.prod.internal refused connections", "hostname", "db1.prod.internal"),
        ("api.eu-west-1.example.com timed out", "hostname", "api.eu-west-1.example.com"),
        ("from 10.0.3.17 only", "IPv4 address", "10.0.3.17"),
        ("from fe80::1ff:fe23:4567:890a only", "IPv6 address", "fe80::1ff:fe23:4567:890a"),
        ("from 2001:db8::1.", "IPv6 address", "2001:db8::1"),
        ("instance i-0abc123def4567890 stopped", "EC2 instance", "i-0abc123def4567890"),
        (
            "pod checkout-api-7d9f8b6c5d-x2k4p restarted",
            "pod name",
            "checkout-api-7d9f8b6c5d-x2k4p",
        ),
        ("ask priya.raman@example.com", "email address", "priya.raman@example.com"),
        (
            "see https://grafana.corp.example.com/d/x.",
            "link",
            "https://grafana.corp.example.com/d/x",
        ),
        ("key sk_live_51Habcdefgh1234", "Stripe key", "sk_live_51Habcdefgh1234"),
        ("xoxb-1234-5678-abcdefgh leaked", "Slack token", "xoxb-1234-5678-abcdefgh"),
        ("AKIAIOSFODNN7EXAMPLE in logs", "AWS access key", "AKIAIOSFODNN7EXAMPLE"),
        ("Authorization: Bearer abc.def-ghi_jkl", "bearer token", "Bearer abc.def-ghi_jkl"),
        ("id 3f2a9c0b7d4e4f1a8b6c5d4e3f2a1b0c", "hex token", "3f2a9c0b7d4e4f1a8b6c5d4e3f2a1b0c"),
        (
            "t=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg== end",
            "base64 token",
            "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg==",
        ),
        ("Marco Bianchi rolled back", "people", "Marco Bianchi"),
        ("Marco rolled back", "people", "Marco"),
        ("checkout-api is slow", "service", "checkout-api"),
    ],
)
def test_leaks_are_found(text: str, kind: str, found: str) -> None:
    assert kinds(text) == [(kind, found)]


@pytest.mark.parametrize(
    "text",
    [
        "Checkout is slower than usual. Next update at 10:30 UTC (in 30m).",
        "Some customers may see errors at checkout since 09:14:00 UTC.",
        "Version 1.2.3 fixed it; p99 latency is back under 2 s. SEV-1 closed.",
        "UTF-8 and utf-8 text, node.js and README.md are fine.",
        "Details: https://status.example.com/incidents/01HX9.",
    ],
)
def test_ordinary_public_text_passes(text: str) -> None:
    assert ensure_public(text, KNOWN) == text


@pytest.mark.parametrize(
    "allowed, text",
    [
        ("hosts", "slow on web-03 (10.0.3.17, db1.prod.internal)"),
        ("services", "checkout-api is slow"),
        ("people", "Marco Bianchi (marco@example.com) is leading"),
    ],
)
def test_an_allowed_category_passes(allowed: str, text: str) -> None:
    assert scan(text, KNOWN, (allowed,)) == []
    assert scan(text, KNOWN, ()) != []


def test_secrets_are_never_allowed() -> None:
    text = "token sk_live_51Habcdefgh1234"
    every = [c.value for c in Category]
    assert [f.category for f in scan(text, KNOWN, every)] == [Category.SECRETS]


def test_redact_replaces_each_leak_and_keeps_the_rest() -> None:
    text = "Marco rolled back web-03; see https://status.example.com/incidents/1"
    assert redact(text, scan(text, KNOWN)) == (
        f"{REDACTED} rolled back {REDACTED}; see https://status.example.com/incidents/1"
    )


def test_ensure_public_names_every_leak() -> None:
    with pytest.raises(PublicLeak) as raised:
        ensure_public("web-03 at 10.0.3.17", KNOWN)
    assert str(raised.value) == (
        "internal details in public text: hostname 'web-03' (hosts); "
        "IPv4 address '10.0.3.17' (hosts)"
    )


def test_known_names_come_from_the_context_vars() -> None:
    known = known_from_vars(
        {
            "incident": {"commander": "Marco Bianchi", "service": "checkout-api"},
            "alerts": [{"service": "payments", "host": "web-03"}, {"service": None, "host": None}],
            "update": {"by": "Priya Raman"},
            "links": {"status_page": "https://status.example.com/incidents/1"},
        }
    )
    assert known == Known(
        people=("Marco Bianchi", "Priya Raman"),
        services=("checkout-api", "payments"),
        hosts=("web-03",),
        public_hosts=("status.example.com",),
    )
