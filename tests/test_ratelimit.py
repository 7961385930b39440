"""Per-destination rate limits shared by every worker, on the virtual clock."""

from __future__ import annotations

from app.store.connection import connect
from app.store.ratelimit import RateLimiter
from workers.channels import CHANNELS, Channel

PAGERDUTY = CHANNELS[Channel.PAGERDUTY].rate_limit
STATUSPAGE = CHANNELS[Channel.STATUSPAGE].rate_limit
X = CHANNELS[Channel.X].rate_limit


def test_statuspage_allows_one_call_a_second_across_workers(redis_url, redis_client, clock) -> None:
    first, second = RateLimiter(connect(redis_url), clock), RateLimiter(connect(redis_url), clock)
    assert first.acquire("statuspage", "key-1", STATUSPAGE) == 0
    assert (
        0.99 <= second.acquire("statuspage", "key-1", STATUSPAGE) <= 1.0
    )  # the other worker must wait
    assert (
        second.acquire("statuspage", "key-2", STATUSPAGE) == 0
    )  # another API key has its own budget
    clock.advance(1.0)
    assert second.acquire("statuspage", "key-1", STATUSPAGE) == 0


def test_pagerduty_allows_a_burst_then_two_a_second(redis_client, clock) -> None:
    limiter = RateLimiter(redis_client, clock)
    assert [limiter.acquire("pagerduty", "rk", PAGERDUTY) for _ in range(10)] == [0.0] * 10
    assert limiter.acquire("pagerduty", "rk", PAGERDUTY) > 0
    clock.advance(0.5)
    assert limiter.acquire("pagerduty", "rk", PAGERDUTY) == 0
    sent = 0
    for _ in range(240):  # a minute of steady calls, four a second offered
        clock.advance(0.25)
        sent += limiter.acquire("pagerduty", "rk", PAGERDUTY) == 0
    assert 118 <= sent <= 122  # about 120 a minute get through


def test_channels_without_a_limit_never_wait(redis_client, clock) -> None:
    assert RateLimiter(redis_client, clock).acquire("x", "account", X) == 0
