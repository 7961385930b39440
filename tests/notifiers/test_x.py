"""X posts and reply threads through tweepy, against the fake on a configurable host, and
finding a post whose answer was lost among the account's recent posts."""

from __future__ import annotations

import time
import traceback

import pytest
from fakes import FakeX

from notifiers.channels import TIMEOUT, X_KEYS
from workers.channels import Channel, DeliveryError, FailureReason, OutboundMessage
from workers.channels.x import RECENT_POSTS, XCredentials, already_made, find_post, send


def creds(fake: FakeX) -> XCredentials:
    return XCredentials(*X_KEYS, api_url=fake.url, timeout=TIMEOUT)


def post(text: str, reply_to: str | None = None) -> OutboundMessage:
    body: dict[str, object] = {"text": text}
    if reply_to:
        body["reply"] = {"in_reply_to_tweet_id": reply_to}
    return OutboundMessage(
        Channel.X, "reply" if reply_to else "post", "inc-3", "update_posted", f"x-{text}", body
    )


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
    assert fake_x.requests[1].json == {
        "text": "Identified: bad deploy, rolling back.",
        "reply": {"in_reply_to_tweet_id": first},
    }
    assert [fake_x.posts[i]["in_reply_to"] for i in (first, second, third)] == [None, first, second]


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
    outbound = dict(
        zip(
            ["X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"],
            X_KEYS,
            strict=True,
        )
    )
    creds = XCredentials.from_outbound(outbound)
    assert creds.api_url == "https://api.twitter.com"
    assert not any(key in repr(creds) for key in X_KEYS)
    assert (
        XCredentials.from_outbound({**outbound, "X_API_URL": "https://api.x.com/"}).api_url
        == "https://api.x.com"
    )


# ---- finding a post whose answer was lost (find_post, already_made) ---------------------------
LINKED = "Investigating checkout errors & slow pages <EU>. https://status.example.com/i/abc"


def test_find_post_matches_the_exact_text_as_sent_among_other_posts(fake_x: FakeX) -> None:
    wanted = send(post(LINKED), creds(fake_x)).vendor_id
    send(post("Investigating checkout errors & slow pages <EU>."), creds(fake_x))
    send(post(LINKED.replace("/abc", "/abd")), creds(fake_x))
    assert fake_x.posts[wanted]["text"] == LINKED  # X shows it with a t.co link and &amp;
    assert find_post(LINKED, None, creds(fake_x)) == wanted
    for near_miss in (LINKED[:-1], LINKED + " ", LINKED.replace("&", "&amp;"), "Resolved."):
        assert find_post(near_miss, None, creds(fake_x)) is None


def test_find_post_asks_for_one_signed_page_of_the_accounts_posts(fake_x: FakeX) -> None:
    send(post("Resolved."), creds(fake_x))
    fake_x.clear()
    assert find_post("Resolved.", None, creds(fake_x)) is not None
    me, timeline = fake_x.requests
    assert (me.method, me.path) == ("GET", "/2/users/me")
    assert (timeline.method, timeline.path) == ("GET", f"/2/users/{FakeX.USER['id']}/tweets")
    assert timeline.query == {
        "max_results": [str(RECENT_POSTS)],
        "exclude": ["retweets"],
        "tweet.fields": ["entities,referenced_tweets"],
    }
    for request in (me, timeline):
        assert 'oauth_signature_method="HMAC-SHA1"' in request.headers["authorization"]


def test_a_reply_is_found_only_under_the_post_it_replies_to(fake_x: FakeX) -> None:
    root = send(post("Investigating."), creds(fake_x)).vendor_id
    other = send(post("Investigating something else."), creds(fake_x)).vendor_id
    reply = send(post("Identified: a bad deploy.", root), creds(fake_x)).vendor_id
    assert find_post("Identified: a bad deploy.", root, creds(fake_x)) == reply
    assert find_post("Identified: a bad deploy.", other, creds(fake_x)) is None
    assert find_post("Identified: a bad deploy.", None, creds(fake_x)) is None
    assert find_post("Investigating.", other, creds(fake_x)) is None  # a root is no reply


def test_nothing_is_found_when_x_has_no_such_recent_post(fake_x: FakeX) -> None:
    assert find_post("Resolved.", None, creds(fake_x)) is None  # an account with no posts
    send(post("Resolved."), creds(fake_x))
    for n in range(RECENT_POSTS):
        send(post(f"Update {n}"), creds(fake_x))
    fake_x.clear()
    assert find_post("Resolved.", None, creds(fake_x)) is None  # one page back only
    assert len(fake_x.requests) == 2


def test_already_made_gives_the_found_post_as_the_receipt(fake_x: FakeX) -> None:
    root = send(post("Investigating."), creds(fake_x)).vendor_id
    reply = send(post("Resolved.", root), creds(fake_x)).vendor_id
    receipt = already_made(post("Resolved.", root), creds(fake_x))
    assert receipt is not None and receipt.vendor_id == reply
    assert receipt.detail["in_reply_to"] == root and "lost" in receipt.detail["note"]
    assert already_made(post("Resolved."), creds(fake_x)) is None


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (lambda f: f.fail_next(500), FailureReason.SERVER_ERROR),
        (lambda f: f.fail_next(429, retry_after=60), FailureReason.RATE_LIMITED),
        (lambda f: f.drop_next(), FailureReason.CONNECTION),
        (lambda f: f.fail_next(200, body=b"<html>maintenance</html>"), FailureReason.SERVER_ERROR),
        (lambda f: f.fail_next(200, body={"data": {"name": "no id"}}), FailureReason.SERVER_ERROR),
    ],
    ids=["500", "429", "dropped", "not-json", "no-user-id"],
)
def test_a_lookup_x_does_not_answer_is_a_typed_error_without_secrets(
    fake_x: FakeX, fault, reason
) -> None:
    fault(fake_x)
    with pytest.raises(DeliveryError) as caught:
        find_post("Resolved.", None, creds(fake_x))
    assert caught.value.reason == reason
    assert caught.value.retryable
    text = "".join(traceback.format_exception(caught.value))
    assert not any(secret in text for secret in X_KEYS)
