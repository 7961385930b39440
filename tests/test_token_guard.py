"""The brute-force guard on KLAXON_API_TOKEN (app/token_guard.py): wrong tokens are counted per
client address in Redis, on the app's clock; past the limit the address gets 429 with
Retry-After, as JSON from the API and as the sign-in page, and its tokens are not checked."""

from __future__ import annotations

from app.errors import TooManyAttempts
from app.http_errors import answer_for


def test_too_many_attempts_is_a_429_that_says_when_to_come_back() -> None:
    answer = answer_for(TooManyAttempts(42))
    assert answer.status == 429
    assert answer.headers == {"Retry-After": "42"}
    assert answer.body == {"error": "too_many_attempts", "message": "too many wrong tokens from "
                           "this address; try again in 42 seconds", "retry_after": 42}
    assert answer.log_fields["error"] == "too_many_attempts"
