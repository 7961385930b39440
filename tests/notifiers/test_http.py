"""The shared status/exception mapping in workers/channels/_http.py."""

from __future__ import annotations

import email.utils

import pytest
import requests

from workers.channels import Channel, DeliveryError, FailureReason
from workers.channels._http import (
    DEFAULT_TIMEOUT,
    TimeoutSession,
    new_session,
    redact,
    requests_error,
    retry_after_seconds,
    status_error,
)

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"retry-after": "0"}, 0.0),
        ({"Retry-After": email.utils.formatdate(NOW + 90, usegmt=True)}, 90.0),
        ({"Retry-After": email.utils.formatdate(NOW - 90, usegmt=True)}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"x-rate-limit-reset": str(int(NOW) + 900)}, 900.0),
        ({"x-rate-limit-reset": str(int(NOW) - 5)}, 0.0),
        ({"Retry-After": "12", "x-rate-limit-reset": str(int(NOW) + 900)}, 12.0),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (429, FailureReason.RATE_LIMITED),
        (500, FailureReason.SERVER_ERROR),
        (503, FailureReason.SERVER_ERROR),
        (401, FailureReason.AUTH),
        (403, FailureReason.AUTH),
        (400, FailureReason.CLIENT_ERROR),
        (404, FailureReason.CLIENT_ERROR),
        (420, FailureReason.CLIENT_ERROR),
        (302, FailureReason.CLIENT_ERROR),
    ],
)
def test_status_error_maps_like_alertmanagers_retrier(status: int, reason: FailureReason) -> None:
    error = status_error(Channel.OPSGENIE, status, {}, "body")
    assert error is not None and (error.reason, error.status) == (reason, status)


def test_listed_codes_are_rate_limits_and_2xx_is_fine() -> None:
    error = status_error(Channel.STATUSPAGE, 420, {"Retry-After": "5"}, "", retry_on={420, 429})
    assert error is not None and (error.reason, error.retry_after) == (
        FailureReason.RATE_LIMITED,
        5,
    )
    assert status_error(Channel.X, 201, {}, "") is None


def test_detail_is_trimmed_flattened_and_redacted() -> None:
    text = redact(
        "key\n  sekrit-123 and sekrit-123456 " + "x" * 1000, ["sekrit-123", "sekrit-123456"]
    )
    assert text.startswith("key [redacted] and [redacted] x")
    assert len(text) == 300 and "sekrit" not in text


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (requests.ReadTimeout("read"), FailureReason.TIMEOUT),
        (requests.ConnectTimeout("connect"), FailureReason.TIMEOUT),
        (requests.ConnectionError("refused"), FailureReason.CONNECTION),
    ],
)
def test_requests_exceptions(exc: requests.RequestException, reason: FailureReason) -> None:
    error = requests_error(Channel.STATUSPAGE, exc)
    assert isinstance(error, DeliveryError) and error.reason == reason and error.retryable


def test_sessions_have_default_timeouts_and_ignore_the_environment() -> None:
    session = new_session()
    assert isinstance(session, TimeoutSession) and session.timeout == DEFAULT_TIMEOUT
    assert session.trust_env is False
    session.close()
