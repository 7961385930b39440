"""The X thread survives a post whose answer was lost: the retry finds the post among the
account's recent posts (when X refuses the text again, or when the ledger is unsure) and the
next update replies to it. A lookup X does not answer never fails the job or posts twice.

In-process jobs against a real Redis and the loopback fakes; test_worker_crash.py kills a real
worker in the same window."""

from __future__ import annotations

import time

import pytest

from app import create_app
from app.clock import VirtualClock
from app.ruleset import load_ruleset
from app.settings import Settings
from app.store.ledger import Ledger
from conftest import SECRETS
from fakes.environment import vendor_environment
from webhook_helpers import fatal_sentry_error
from workers import jobs
from workers.notifiers import DeliveryError

UPDATE = "A bad deploy exhausted the connection pool; rolling back."
X_SECRETS = ("xck-1234567", "xcs-1234567", "xat-1234567", "xas-1234567")  # environment.py's


@pytest.fixture
def app(monkeypatch, redis_url, redis_client, fake_pagerduty, fake_statuspage, fake_x):
    for name, value in vendor_environment(SECRETS, redis_url, pagerduty=fake_pagerduty,
                                          statuspage=fake_statuspage, x=fake_x).items():
        monkeypatch.setenv(name, value)
    jobs.runtime.cache_clear()
    yield create_app(Settings.from_env(), connection=redis_client,
                     clock=VirtualClock(time.time()))
    jobs.runtime.cache_clear()


def later(redis_client, seconds: float = 121):
    """Jobs run by a worker whose clock is on: past the dead worker's ledger lease."""
    settings = Settings.from_env()
    return jobs.running_with(jobs.Runtime(settings, redis_client,
                                          load_ruleset(settings.rules_dir),
                                          clock=VirtualClock(time.time() + seconds)))


def post_update(app, incident: str) -> None:
    """The commander's update, sent as its job sends it."""
    app.extensions["klaxon"].incidents.post_update(incident, "identified", UPDATE, "Marco")
    jobs.notify(incident, "update_posted", "1", "status update posted",
                {"status": "identified", "message": UPDATE, "by": "Marco"})


def posts(fake_x) -> list:
    return [r for r in fake_x.requests if r.method == "POST"]


def thread(redis_client, incident: str) -> str:
    return (redis_client.hget(f"klaxon:incident:{incident}", "x_last_id") or b"").decode()


def notified(app, incident: str) -> list[str]:
    timeline = app.extensions["klaxon"].incidents.timeline(incident)
    return [e["text"] for e in timeline if e["kind"] == "notified" and e["text"].startswith("x ")]


def test_a_post_whose_answer_was_dropped_is_found_when_x_refuses_it_again(
        app, redis_client, fake_x) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    fake_x.lose_next()  # X posts it; the connection drops before the answer
    with pytest.raises(DeliveryError):
        jobs.notify(incident, "declared", "", "first try")
    [first] = fake_x.posts
    jobs.notify(incident, "declared", "", "RQ's retry")  # X: 403 duplicate content

    assert thread(redis_client, incident) == first
    post_update(app, incident)
    assert [a.status for a in fake_x.answers] == [403, 200, 200, 201]  # refused, looked, replied
    assert len(fake_x.posts) == 2
    assert posts(fake_x)[-1].json["reply"] == {"in_reply_to_tweet_id": first}
    assert "found among the account's recent posts" in notified(app, incident)[0]


def test_an_unsure_post_that_never_reached_x_is_posted_once(app, redis_client, fake_x) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    Ledger(redis_client, VirtualClock(time.time())).begin(f"x:{incident}:declared:0", "x",
                                                          incident, "post")  # then it died
    with later(redis_client):
        jobs.notify(incident, "declared", "", "retry after the crash")
    [first] = fake_x.posts
    assert [r.method for r in fake_x.requests] == ["GET", "GET", "POST"]
    assert thread(redis_client, incident) == first


@pytest.mark.parametrize("status", [500, 429])
def test_a_failed_lookup_keeps_the_post_counted_once_and_says_so(app, redis_client, fake_x,
                                                                 status: int) -> None:
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    fake_x.lose_next()
    with pytest.raises(DeliveryError):
        jobs.notify(incident, "declared", "", "first try")
    fake_x.slow_next(0)  # the repeated post is answered (403 duplicate content) ...
    fake_x.fail_next(status, retry_after=60)  # ... and the lookup is not
    assert jobs.notify(incident, "declared", "", "RQ's retry")  # the job succeeds

    assert len(fake_x.posts) == 1 and thread(redis_client, incident) == ""
    [text] = notified(app, incident)
    assert "(duplicate): X already had this text but looking it up failed" in text
    assert f"HTTP {status}" in text and "the next update starts a new post" in text
    entry = Ledger(redis_client, VirtualClock()).entry(f"x:{incident}:declared:0")
    assert (entry.state, entry.vendor_id) == ("sent", "duplicate")
    assert not any(secret in text or secret in str(entry) for secret in X_SECRETS)
    post_update(app, incident)  # as before this change: the update starts a new post
    assert "reply" not in posts(fake_x)[-1].json and len(fake_x.posts) == 2
