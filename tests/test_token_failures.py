"""Wrong API tokens per client address in Redis (app/store/token_failures.py), on the virtual
clock: the limit holds across web processes and under parallel guesses, successes are not
counted, and the window ending lets the address try again."""

from __future__ import annotations

import threading

import pytest

from app.errors import TooManyAttempts
from app.store import keys
from app.store.connection import connect
from app.store.token_failures import MAX_FAILURES, WINDOW_SECONDS, TokenFailures

CLIENT = "203.0.113.7"


def fail(failures: TokenFailures, times: int, client: str = CLIENT) -> None:
    for _ in range(times):
        failures.attempt(client)  # counted; a wrong token is simply not taken off again


def test_past_the_limit_the_address_waits_for_the_window_to_end(redis_client, clock) -> None:
    failures = TokenFailures(redis_client, clock)
    fail(failures, MAX_FAILURES)
    clock.advance(60)
    with pytest.raises(TooManyAttempts) as refused:
        failures.attempt(CLIENT)
    assert refused.value.retry_after_seconds == WINDOW_SECONDS - 60
    clock.advance(WINDOW_SECONDS - 60 - 0.5)
    with pytest.raises(TooManyAttempts) as refused:
        failures.attempt(CLIENT)
    assert refused.value.retry_after_seconds == 1  # never "0 seconds"
    clock.advance(0.5)
    failures.attempt(CLIENT)  # a new window


def test_refused_attempts_do_not_extend_the_window(redis_client, clock) -> None:
    failures = TokenFailures(redis_client, clock)
    fail(failures, MAX_FAILURES)
    for _ in range(50):
        with pytest.raises(TooManyAttempts):
            failures.attempt(CLIENT)
    assert redis_client.hget(keys.token_failures(CLIENT), "count") == str(MAX_FAILURES).encode()
    clock.advance(WINDOW_SECONDS)
    failures.attempt(CLIENT)


def test_right_tokens_are_not_counted_and_leave_no_key(redis_client, clock) -> None:
    failures = TokenFailures(redis_client, clock)
    for _ in range(MAX_FAILURES * 3):
        failures.succeeded(CLIENT, failures.attempt(CLIENT))
    assert redis_client.exists(keys.token_failures(CLIENT)) == 0


def test_a_right_token_does_not_erase_the_wrong_ones_before_it(redis_client, clock) -> None:
    failures = TokenFailures(redis_client, clock)
    fail(failures, MAX_FAILURES - 1)
    failures.succeeded(CLIENT, failures.attempt(CLIENT))
    fail(failures, 1)
    with pytest.raises(TooManyAttempts):
        failures.attempt(CLIENT)


def test_a_success_counted_in_an_old_window_takes_nothing_off_the_new_one(
    redis_client, clock
) -> None:
    failures = TokenFailures(redis_client, clock)
    window = failures.attempt(CLIENT)  # a slow request: checked after its window ended
    clock.advance(WINDOW_SECONDS)
    fail(failures, MAX_FAILURES)
    failures.succeeded(CLIENT, window)
    with pytest.raises(TooManyAttempts):
        failures.attempt(CLIENT)


def test_each_address_has_its_own_budget_across_web_processes(
    redis_url, redis_client, clock
) -> None:
    one, two = TokenFailures(connect(redis_url), clock), TokenFailures(connect(redis_url), clock)
    fail(one, MAX_FAILURES // 2)
    fail(two, MAX_FAILURES - MAX_FAILURES // 2)
    with pytest.raises(TooManyAttempts):
        one.attempt(CLIENT)
    two.attempt("198.51.100.9")


def test_parallel_guesses_get_no_more_than_the_limit(redis_url, redis_client, clock) -> None:
    """Thirty guesses at once from one address, on thirty connections: ten are checked."""
    connections = [connect(redis_url) for _ in range(30)]
    barrier = threading.Barrier(len(connections))
    outcomes: list[str] = []

    def guess(connection) -> None:
        failures = TokenFailures(connection, clock)
        barrier.wait()
        try:
            failures.attempt(CLIENT)
            outcomes.append("checked")
        except TooManyAttempts:
            outcomes.append("refused")

    threads = [threading.Thread(target=guess, args=(c,)) for c in connections]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for connection in connections:
            connection.close()
    assert sorted(outcomes) == ["checked"] * MAX_FAILURES + ["refused"] * (30 - MAX_FAILURES)


def test_the_key_holds_neither_the_address_nor_lives_past_the_window(redis_client, clock) -> None:
    TokenFailures(redis_client, clock).attempt(CLIENT)
    [key] = redis_client.keys(f"{keys.PREFIX}:token-failures:*")
    assert CLIENT.encode() not in key
    assert 0 < redis_client.ttl(key) <= WINDOW_SECONDS
