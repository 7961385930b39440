"""Every notifier keeps the same promises over real loopback HTTP (Alertmanager's notifier
tests): one request per send, 2xx gives a receipt, 5xx/429/timeouts/dropped connections are
retryable, other 4xx are not, timeouts are bounded, and no credential ever leaks into an error."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable

import pytest

from notifiers.channels import CASES, READ_TIMEOUT, ChannelCase
from workers.channels import Channel, DeliveryError, FailureReason


@pytest.fixture(params=list(CASES), ids=str)
def case(request: pytest.FixtureRequest) -> ChannelCase:
    fixture, build = CASES[request.param]
    return build(request.getfixturevalue(fixture))


def failed_send(case: ChannelCase) -> DeliveryError:
    """Send one fresh message, expect a DeliveryError, and check the promises every failure
    keeps: exactly one request reached the vendor and no secret is in the error."""
    with pytest.raises(DeliveryError) as caught:
        case.send(case.message())
    assert len(case.fake.requests) == 1, "the notifier (or its SDK) retried by itself"
    assert_leaks_no_secret(caught.value, case.secrets)
    assert caught.value.channel == case.channel
    return caught.value


def assert_leaks_no_secret(error: DeliveryError, secrets: tuple[str, ...]) -> None:
    """Nor in the chained causes: RQ and Sentry store the whole formatted traceback."""
    texts = [
        str(error),
        repr(error),
        *map(str, error.args),
        "".join(traceback.format_exception(error)),
    ]
    for secret in secrets:
        for text in texts:
            assert secret not in text


def test_2xx_gives_a_receipt_with_the_vendor_id(case: ChannelCase) -> None:
    message = case.message()
    receipt = case.send(message)
    assert receipt.channel == case.channel
    assert receipt.vendor_id and receipt.vendor_id == case.vendor_id(case.fake, message)
    assert len(case.fake.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_a_retryable_server_error(case: ChannelCase, status: int) -> None:
    case.fake.fail_next(status)
    error = failed_send(case)
    assert (error.reason, error.status, error.retryable) == (
        FailureReason.SERVER_ERROR,
        status,
        True,
    )


def test_429_is_rate_limited_and_keeps_the_wait(case: ChannelCase) -> None:
    case.fake.fail_next(429, retry_after=120)
    error = failed_send(case)
    assert (error.reason, error.status, error.retryable) == (FailureReason.RATE_LIMITED, 429, True)
    assert error.retry_after is not None and 115 <= error.retry_after <= 120


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_4xx_is_permanent(case: ChannelCase, status: int) -> None:
    case.fake.fail_next(status)
    error = failed_send(case)
    assert (error.reason, error.status, error.retryable) == (
        FailureReason.CLIENT_ERROR,
        status,
        False,
    )


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_permanent_auth_errors(case: ChannelCase, status: int) -> None:
    case.fake.fail_next(status)
    error = failed_send(case)
    assert (error.reason, error.status, error.retryable) == (FailureReason.AUTH, status, False)


def test_slow_answer_times_out_within_the_configured_timeout(case: ChannelCase) -> None:
    case.fake.slow_next(READ_TIMEOUT + 3)
    started = time.monotonic()
    error = failed_send(case)
    elapsed = time.monotonic() - started
    assert (error.reason, error.retryable) == (FailureReason.TIMEOUT, True)
    assert READ_TIMEOUT * 0.9 <= elapsed < READ_TIMEOUT + 1.0


@pytest.mark.parametrize("cut", ["drop", "reset"])
def test_dropped_connection_is_retryable(case: ChannelCase, cut: str) -> None:
    getattr(case.fake, f"{cut}_next")()
    error = failed_send(case)
    assert error.reason in (FailureReason.CONNECTION, FailureReason.TIMEOUT)
    assert error.retryable


def test_connection_refused_is_retryable(case: ChannelCase) -> None:
    case.fake.stop()  # nothing listens on the port any more
    with pytest.raises(DeliveryError) as caught:
        case.send(case.message())
    assert (caught.value.reason, caught.value.retryable) == (FailureReason.CONNECTION, True)
    assert_leaks_no_secret(caught.value, case.secrets)


ECHOES: dict[Channel, Callable[[str], object]] = {
    Channel.SUBSCRIBERS: lambda s: {"error": f"bad signature for secret {s}"},
    Channel.PAGERDUTY: lambda s: {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [f"Invalid routing key {s}"],
    },
    Channel.OPSGENIE: lambda s: {"message": f"Key {s} is not valid", "took": 0.0, "requestId": "r"},
    Channel.STATUSPAGE: lambda s: {"message": f"OAuth {s} not accepted"},
    Channel.X: lambda s: {
        "detail": f"token {s} is invalid",
        "title": "Invalid Request",
        "status": 400,
        "type": "about:blank",
    },
}


@pytest.mark.parametrize("status", [400, 401, 500, 429])
def test_error_text_never_carries_a_credential_even_when_the_vendor_echoes_it(
    case: ChannelCase, status: int
) -> None:
    for secret in case.secrets:
        case.fake.clear()
        case.fake.fail_next(status, body=ECHOES[case.channel](secret))
        error = failed_send(case)
        assert "[redacted]" in str(error)
