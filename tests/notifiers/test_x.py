"""X posts and reply threads through tweepy, against the fake on a configurable host."""

from __future__ import annotations

import time

import pytest
from fakes import FakeX

from notifiers.channels import TIMEOUT, X_KEYS
from workers.notifiers import Channel, DeliveryError, FailureReason, OutboundMessage
from workers.notifiers.x import XCredentials, send


def creds(fake: FakeX) -> XCredentials:
    return XCredentials(*X_KEYS, api_url=fake.url, timeout=TIMEOUT)


def post(text: str, reply_to: str | None = None) -> OutboundMessage:
    body: dict[str, object] = {"text": text}
    if reply_to:
        body["reply"] = {"in_reply_to_tweet_id": reply_to}
    return OutboundMessage(Channel.X, "reply" if reply_to else "post", "inc-3", "update_posted",
                           f"x-{text}", body)


def test_post_signs_with_oauth1_and_sends_only_the_text(fake_x: FakeX) -> None:
    receipt = send(post("Investigating checkout errors."), creds(fake_x))
    [request] = fake_x.requests
    assert (request.method, request.path) == ("POST", "/2/tweets")
    assert request.json == {"text": "Investigating checkout errors."}
    auth = request.headers["authorization"]
    assert auth.startswith("OAuth ") and 'oauth_signature_method="HMAC-SHA1"' in auth
    assert f'oauth_consumer_key="{X_KEYS[0]}"' in auth and f'oauth_token="{X_KEYS[2]}"' in auth
    assert X_KEYS[1] not in auth and X_KEYS[3] not in auth  # secrets only sign
    assert receipt.vendor_id in fake_x.posts


def test_updates_thread_as_replies_to_the_previous_post(fake_x: FakeX) -> None:
    first = send(post("Investigating checkout errors."), creds(fake_x)).vendor_id
    second = send(post("Identified: bad deploy, rolling back.", first), creds(fake_x)).vendor_id
    third = send(post("Resolved.", second), creds(fake_x)).vendor_id
    assert fake_x.requests[1].json == {"text": "Identified: bad deploy, rolling back.",
                                       "reply": {"in_reply_to_tweet_id": first}}
    assert [fake_x.posts[i]["in_reply_to"] for i in (first, second, third)] == [
        None, first, second]


def test_duplicate_text_is_duplicate_and_not_retried(fake_x: FakeX) -> None:
    send(post("Resolved."), creds(fake_x))
    with pytest.raises(DeliveryError) as caught:
        send(post("Resolved."), creds(fake_x))
    assert (caught.value.reason, caught.value.status) == (FailureReason.DUPLICATE, 403)
    assert not caught.value.retryable
    assert len(fake_x.requests) == 2


def test_other_403_is_auth(fake_x: FakeX) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(post("Update", reply_to="1234"), creds(fake_x))  # not visible to us
    assert caught.value.reason == FailureReason.AUTH


def test_429_waits_until_x_rate_limit_reset(fake_x: FakeX) -> None:
    fake_x.fail_next(429, headers={"x-rate-limit-reset": str(int(time.time()) + 600)})
    with pytest.raises(DeliveryError) as caught:
        send(post("Update"), creds(fake_x))
    assert caught.value.reason == FailureReason.RATE_LIMITED
    assert caught.value.retry_after is not None and 595 <= caught.value.retry_after <= 600


def test_reply_without_a_post_to_reply_to_is_refused(fake_x: FakeX) -> None:
    message = OutboundMessage(Channel.X, "reply", "inc-3", "update_posted", "x", {"text": "t"})
    with pytest.raises(DeliveryError) as caught:
        send(message, creds(fake_x))
    assert caught.value.reason == FailureReason.CLIENT_ERROR
    assert fake_x.requests == []


def test_credentials_from_settings_outbound_and_repr() -> None:
    outbound = dict(zip(["X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"],
                        X_KEYS))
    creds = XCredentials.from_outbound(outbound)
    assert creds.api_url == "https://api.twitter.com"
    assert not any(key in repr(creds) for key in X_KEYS)
    assert XCredentials.from_outbound({**outbound, "X_API_URL": "https://api.x.com/"}).api_url \
        == "https://api.x.com"
