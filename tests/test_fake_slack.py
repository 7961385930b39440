"""The loopback Slack fake speaks the Web API as the real slack_sdk WebClient expects: the
answers, refusals and faults the Slack channel's tests rely on."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler


def client(fake_slack, **kw) -> WebClient:
    return WebClient(
        token=fake_slack.token,
        base_url=fake_slack.url + "/api/",
        timeout=5,
        retry_handlers=[],
        **kw,
    )


def test_a_channel_is_created_once_and_its_name_is_then_taken(fake_slack) -> None:
    slack = client(fake_slack)
    made = slack.conversations_create(name="inc-7-checkout-502s")
    with pytest.raises(SlackApiError) as taken:
        slack.conversations_create(name="inc-7-checkout-502s")
    assert made["channel"]["name"] == "inc-7-checkout-502s"
    assert taken.value.response["error"] == "name_taken"


def test_a_message_is_posted_edited_pinned_and_replied_to(fake_slack) -> None:
    slack = client(fake_slack)
    channel = slack.conversations_create(name="inc-8-x")["channel"]["id"]
    posted = slack.chat_postMessage(channel=channel, text="sitrep v1", blocks=[{"type": "divider"}])
    slack.chat_update(channel=channel, ts=posted["ts"], text="sitrep v2")
    slack.pins_add(channel=channel, timestamp=posted["ts"])
    slack.chat_postMessage(channel=channel, text="acknowledged by bob", thread_ts=posted["ts"])
    assert fake_slack.messages[channel][0]["text"] == "sitrep v2"
    assert (channel, posted["ts"]) in fake_slack.pins
    assert [m["text"] for m in fake_slack.thread(channel, posted["ts"])] == ["acknowledged by bob"]


def test_a_wrong_token_is_refused(fake_slack) -> None:
    slack = WebClient(token="xoxb-wrong", base_url=fake_slack.url + "/api/", retry_handlers=[])
    with pytest.raises(SlackApiError) as refused:
        slack.users_lookupByEmail(email="alice@example.com")
    assert refused.value.response["error"] == "invalid_auth"


def test_rate_limited_answers_carry_retry_after_and_the_sdk_can_honour_it(fake_slack) -> None:
    fake_slack.fail_next(429, retry_after=1)
    with pytest.raises(SlackApiError) as limited:
        client(fake_slack).users_lookupByEmail(email="alice@example.com")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"

    fake_slack.fail_next(429, retry_after=1)
    patient = client(fake_slack)
    patient.retry_handlers = [RateLimitErrorRetryHandler(max_retry_count=1)]
    assert patient.users_lookupByEmail(email="alice@example.com")["user"]["id"] == "U0CHKALICE"


def test_a_lost_answer_still_made_the_channel(fake_slack) -> None:
    fake_slack.lose_next()
    with pytest.raises(Exception):  # noqa: B017 - urllib's own error for a closed connection
        client(fake_slack).conversations_create(name="inc-9-lost")
    assert fake_slack.channel_named("inc-9-lost") is not None
