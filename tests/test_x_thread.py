"""The X thread survives a post whose answer was lost: the retry finds the post among the
account's recent posts (when X refuses the text again, or when the ledger is unsure) and the
next update replies to it. A lookup X does not answer never fails the job or posts twice.

In-process public jobs (jobs.notify_public: X is a public channel) against a real Redis and the
loopback fakes; test_worker_crash.py kills a real worker in the same window."""

from __future__ import annotations

import time

import pytest
from conftest import SECRETS
from fakes.environment import vendor_environment
from webhook_helpers import fatal_sentry_error

from app import create_app
from app.clock import VirtualClock
from app.messages.context import MessageEvent
from app.messages.render import render
from app.ruleset import load_ruleset
from app.settings import Settings
from app.store.ledger import Ledger
from workers import jobs
from workers.channels import CHANNELS, Channel, DeliveryError, OutboundMessage, x
from workers.incident_context import build_context

UPDATE = "A bad deploy exhausted the connection pool; rolling back."


@pytest.fixture
def app(monkeypatch, redis_url, redis_client, fake_pagerduty, fake_statuspage, fake_x):
    for name, value in vendor_environment(
        SECRETS, redis_url, pagerduty=fake_pagerduty, statuspage=fake_statuspage, x=fake_x
    ).items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    yield create_app(Settings.from_env(), connection=redis_client, clock=VirtualClock(time.time()))
    jobs.forget_runtime()


def later(redis_client, seconds: float = 121):
    """Jobs run by a worker whose clock is on: past the dead worker's ledger lease."""
    settings = Settings.from_env()
    return jobs.running_with(
        jobs.Runtime(
            settings,
            redis_client,
            load_ruleset(settings.rules_dir),
            clock=VirtualClock(time.time() + seconds),
        )
    )


def post_update(app, incident: str) -> None:
    """The commander's update, sent as its job sends it."""
    app.extensions["klaxon"].incidents.post_update(incident, "identified", UPDATE, "Marco")
    jobs.notify_public(
        incident,
        "update_posted",
        "1",
        "status update posted",
        {"status": "identified", "message": UPDATE, "by": "Marco"},
    )


def posts(fake_x) -> list:
    return [r for r in fake_x.requests if r.method == "POST"]


def thread(redis_client, incident: str) -> str:
    return (redis_client.hget(f"klaxon:incident:{incident}", "x_last_id") or b"").decode()


def notified(app, incident: str) -> list[str]:
    timeline = app.extensions["klaxon"].incidents.timeline(incident)
    return [e["text"] for e in timeline if e["kind"] == "notified" and e["text"].startswith("x ")]


def test_a_post_whose_answer_was_dropped_is_looked_for_before_posting_again(
    app, redis_client, fake_x
) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    fake_x.lose_next()  # X posts it; the connection drops before the answer
    with pytest.raises(DeliveryError):
        jobs.notify_public(incident, "declared", "", "first try")
    [first] = fake_x.posts
    with later(redis_client):  # RQ's retry: no answer means X may have posted it; look first
        jobs.notify_public(incident, "declared", "", "RQ's retry")
        assert thread(redis_client, incident) == first
        post_update(app, incident)
    assert [
        (r.method, a.status) for r, a in zip(fake_x.requests[1:], fake_x.answers, strict=False)
    ] == [("GET", 200), ("GET", 200), ("POST", 201)]  # looked, found, replied
    assert len(fake_x.posts) == 2
    assert posts(fake_x)[-1].json["reply"] == {"in_reply_to_tweet_id": first}
    assert "found among the account's recent posts" in notified(app, incident)[0]


def test_when_the_look_first_fails_the_repost_is_refused_and_found_after(
    app, redis_client, fake_x
) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    fake_x.lose_next()
    with pytest.raises(DeliveryError):
        jobs.notify_public(incident, "declared", "", "first try")
    [first] = fake_x.posts
    fake_x.fail_next(503)  # the look before posting again
    with later(redis_client):
        jobs.notify_public(incident, "declared", "", "RQ's retry")  # X: 403 duplicate content
        assert thread(redis_client, incident) == first
    assert [a.status for a in fake_x.answers] == [503, 403, 200, 200]  # refused, then found
    assert len(fake_x.posts) == 1


def test_an_unsure_post_is_looked_for_before_posting_again(app, redis_client, fake_x) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    first = made_and_lost(redis_client, incident)
    with later(redis_client):
        jobs.notify_public(incident, "declared", "", "retry after the crash")
        post_update(app, incident)
    assert [r.method for r in fake_x.requests] == ["POST", "GET", "GET", "POST"]
    assert posts(fake_x)[-1].json["reply"] == {"in_reply_to_tweet_id": first}


def test_an_unsure_post_that_never_reached_x_is_posted_once(app, redis_client, fake_x) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    Ledger(redis_client, VirtualClock(time.time())).begin(
        f"x:{incident}:declared:0", "x", incident, "post"
    )  # then it died
    with later(redis_client):
        jobs.notify_public(incident, "declared", "", "retry after the crash")
    [first] = fake_x.posts
    assert [r.method for r in fake_x.requests] == ["GET", "GET", "POST"]
    assert thread(redis_client, incident) == first


@pytest.mark.parametrize("status", [500, 429])
def test_a_failed_lookup_keeps_the_post_counted_once_and_says_so(
    app, redis_client, fake_x, status: int
) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    fake_x.lose_next()
    with pytest.raises(DeliveryError):
        jobs.notify_public(incident, "declared", "", "first try")
    fake_x.fail_next(status, retry_after=60)  # the look before posting again fails,
    fake_x.slow_next(0)  # the repeated post is answered (403 duplicate content) ...
    fake_x.fail_next(status, retry_after=60)  # ... and the lookup after it fails too
    assert jobs.notify_public(incident, "declared", "", "RQ's retry")  # the job succeeds

    assert len(fake_x.posts) == 1 and thread(redis_client, incident) == ""
    [text] = notified(app, incident)
    assert "(duplicate): X already had this text but looking it up failed" in text
    assert f"HTTP {status}" in text and "the next update starts a new post" in text
    entry = Ledger(redis_client, VirtualClock()).entry(f"x:{incident}:declared:0")
    assert (entry.state, entry.vendor_id) == ("sent", "duplicate")
    assert not any(secret in text or secret in str(entry) for secret in credentials().secrets())
    post_update(app, incident)  # as before this change: the update starts a new post
    assert "reply" not in posts(fake_x)[-1].json and len(fake_x.posts) == 2


def test_unsure_with_every_lookup_failing_still_posts_once(app, redis_client, fake_x) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    made_and_lost(redis_client, incident)
    fake_x.fail_next(503)  # the look before posting again
    fake_x.slow_next(0)  # the post, refused as duplicate content
    fake_x.fail_next(503)  # the look after X's refusal
    with later(redis_client):
        jobs.notify_public(incident, "declared", "", "retry after the crash")
    assert [r.method for r in fake_x.requests] == ["POST", "GET", "POST", "GET"]
    assert len(fake_x.posts) == 1 and thread(redis_client, incident) == ""
    assert "looking it up failed" in notified(app, incident)[0]


def test_when_nothing_matches_the_post_counts_as_made_as_before(app, redis_client, fake_x) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    first = made_and_lost(redis_client, incident)
    for n in range(x.RECENT_POSTS):  # the lost post is no longer among the recent ones
        x.send(
            OutboundMessage(
                Channel.X, "post", "other", "declared", f"o{n}", {"text": f"Something else {n}"}
            ),
            credentials(),
        )
    with later(redis_client):
        jobs.notify_public(incident, "declared", "", "retry after the crash")
    assert list(fake_x.posts)[0] == first and len(fake_x.posts) == 1 + x.RECENT_POSTS
    assert "none of the account's recent posts has it" in notified(app, incident)[0]


def made_and_lost(redis_client, incident: str) -> str:
    """The declaration's post made on X by a worker that died before recording it: the
    ledger began it, X has it, nothing else knows."""
    key = f"x:{incident}:declared:0"
    ledger = Ledger(redis_client, VirtualClock(time.time()))
    ledger.begin(key, "x", incident, "post")
    text = ledger.first_body(key, declared_text(incident))  # as deliver_once keeps it
    return x.send(
        OutboundMessage(Channel.X, "post", incident, "declared", key, {"text": text}), credentials()
    ).vendor_id


def declared_text(incident: str) -> str:
    """The text the declaration's job renders for X, now."""
    rt = jobs.runtime()
    ctx = build_context(
        rt.incidents,
        rt.ruleset,
        incident,
        MessageEvent.DECLARED,
        "",
        rt.settings.public_url,
        rt.clock.now(),
        None,
    )
    return render(CHANNELS[Channel.X], ctx.event, ctx, rt.settings.templates_dir)["post"]


def credentials() -> x.XCredentials:
    return x.XCredentials.from_outbound(Settings.from_env().outbound)
