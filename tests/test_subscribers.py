"""Webhook subscribers of the status page (issue 14): subscribing through the form and the JSON
door, the addresses refused (SSRF), and a loopback subscriber that receives each public update
exactly once, in Statuspage's webhook shape, across retried jobs and a worker that died
mid-post; its unsubscribe link works.

Real HTTP (a loopback fake subscriber), a real Redis, RQ's SimpleWorker for the jobs."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import quote

import pytest
from conftest import SECRETS, load_fixture, post
from fakes import FakeSubscriber, Recorded
from fakes.environment import vendor_environment
from fuzzing import fuzz
from hypothesis import given
from hypothesis import strategies as st
from rq import SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer

from app import create_app
from app.settings import Settings
from app.store import keys
from app.store.ledger import Ledger
from app.store.subscribers import SubscriberStore
from app.subscriber_address import RefusedAddress, check_url
from workers import jobs, subscriber_jobs
from workers.channels import DeliveryError
from workers.queues import queues
from workers.runtime import Runtime
from workers.ticker import tick

SUBSCRIBERS_SECRET = "subscribers-signing-secret-3e9d1c"
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}


@pytest.fixture
def subscriber(fake_subscriber: FakeSubscriber) -> FakeSubscriber:
    return fake_subscriber


def resolving_to(*addresses: str):
    return lambda host, port: list(addresses)


# -- which URLs are refused (pure) -----------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.5",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.10",
        "169.254.169.254",  # the cloud's metadata service
        "::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "0.0.0.0",
        "100.64.0.1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
    ],
)
def test_a_url_whose_host_resolves_inside_a_network_is_refused(address: str) -> None:
    with pytest.raises(RefusedAddress):
        check_url("https://hooks.example.com/status", False, resolving_to(address))


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    with pytest.raises(RefusedAddress, match="10.1.1.1"):
        check_url("https://x.example/", False, resolving_to("93.184.216.34", "10.1.1.1"))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://[::1]/hook"])
def test_loopback_is_refused_unless_the_dev_setting_allows_it(url: str) -> None:
    with pytest.raises(RefusedAddress, match="loopback"):
        check_url(url, False)
    assert check_url(url, True) == url
    with pytest.raises(RefusedAddress):  # the dev setting lets loopback through, nothing else
        check_url("http://10.0.0.1/hook", True)


def test_a_public_address_is_accepted_and_the_url_kept() -> None:
    url = "HTTPS://Hooks.example.com/status?team=a#frag"
    assert (
        check_url(url, False, resolving_to("93.184.216.34", "2606:2800:220:1::1"))
        == "https://Hooks.example.com/status?team=a"
    )


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://hooks.example.com/",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://user:secret@hooks.example.com/",
        "https:///no-host",
        "https://hooks.example.com/a b",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/\x00",
        "https://" + "a" * 2000 + ".example/",
    ],
)
def test_what_is_not_an_http_url_with_a_host_is_refused(url: str) -> None:
    with pytest.raises(RefusedAddress):
        check_url(url, False, resolving_to("93.184.216.34"))


# -- subscribing through the page ------------------------------------------------------------


def make_app(monkeypatch, redis_url, redis_client, clock, **extra: str):
    env = vendor_environment(SECRETS, redis_url, **extra)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    return create_app(Settings.from_env(), connection=redis_client, clock=clock)


@pytest.fixture
def app(monkeypatch, redis_url, redis_client, clock):
    clock.set(1773479640.0)  # the fixtures' story: Saturday 2026-03-14 09:14 UTC
    yield make_app(
        monkeypatch,
        redis_url,
        redis_client,
        clock,
        KLAXON_SUBSCRIBERS_SECRET=SUBSCRIBERS_SECRET,
        KLAXON_SUBSCRIBERS_ALLOW_LOOPBACK="1",
        KLAXON_SUBSCRIBERS_MAX="3",
    )
    jobs.forget_runtime()


def stored(redis_client) -> dict:
    return redis_client.hgetall(keys.subscribers())


def test_without_the_secret_nobody_can_subscribe(monkeypatch, redis_url, redis_client, clock):
    client = make_app(monkeypatch, redis_url, redis_client, clock).test_client()
    assert client.get("/status/subscribe").status_code == 404
    answer = client.post("/status/subscribe", json={"endpoint": "http://127.0.0.1:9/x"})
    assert answer.status_code == 404
    assert "Get updates by webhook" not in client.get("/status").get_data(as_text=True)
    assert stored(redis_client) == {}


def test_the_status_page_links_to_the_form(app) -> None:
    page = app.test_client().get("/status").get_data(as_text=True)
    assert 'href="/status/subscribe"' in page


def test_the_form_needs_its_csrf_token(app, redis_client) -> None:
    client = app.test_client()
    refused = client.post("/status/subscribe", data={"endpoint": "http://127.0.0.1:9/hook"})
    assert refused.status_code == 400 and stored(redis_client) == {}

    form = client.get("/status/subscribe")
    assert form.status_code == 200 and "no-store" in form.headers["Cache-Control"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True))
    assert token
    done = client.post(
        "/status/subscribe",
        data={"endpoint": "http://127.0.0.1:9/hook", "csrf_token": token.group(1)},
    )
    assert done.status_code == 200
    [subscriber] = SubscriberStore(redis_client, app.extensions["klaxon"].clock, 3).all()
    assert subscriber.address == "http://127.0.0.1:9/hook"
    assert f"/status/unsubscribe/{subscriber.id}/{subscriber.token}" in done.get_data(as_text=True)


def test_the_form_refuses_a_private_address_and_stores_nothing(app, redis_client) -> None:
    client = app.test_client()
    form = client.get("/status/subscribe").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/status/subscribe",
        data={"endpoint": "http://169.254.169.254/latest/meta-data", "csrf_token": token},
    )
    assert answer.status_code == 400
    assert "not a public address" in answer.get_data(as_text=True)
    assert stored(redis_client) == {}


def test_json_subscribe_in_statuspage_s_shape_once_per_url_and_up_to_the_cap(
    app, redis_client
) -> None:
    client = app.test_client()
    first = client.post(
        "/status/subscribe", json={"subscriber": {"endpoint": "http://127.0.0.1:9/a"}}
    )
    assert first.status_code == 201
    created = first.get_json()["subscriber"]
    assert created["mode"] == "webhook" and created["endpoint"] == "http://127.0.0.1:9/a"
    assert created["unsubscribe_url"].startswith(
        f"http://localhost:8000/status/unsubscribe/{created['id']}/"
    )
    again = client.post("/status/subscribe", json={"endpoint": "http://127.0.0.1:9/a"})
    assert again.status_code == 200 and "unsubscribe_url" not in again.get_json()["subscriber"]
    for path in ("b", "c"):
        assert (
            client.post(
                "/status/subscribe", json={"endpoint": f"http://127.0.0.1:9/{path}"}
            ).status_code
            == 201
        )
    full = client.post("/status/subscribe", json={"endpoint": "http://127.0.0.1:9/d"})
    assert full.status_code == 409 and full.get_json()["error"] == "subscribers_full"
    assert len(stored(redis_client)) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"endpoint": "http://10.0.0.1/hook"},
        {"endpoint": "gopher://127.0.0.1/"},
        {"endpoint": 7},
        {"subscriber": "http://127.0.0.1:9/x"},
        [],
        "http://127.0.0.1:9/x",
    ],
)
def test_json_subscribe_refuses_bad_input_with_400(app, redis_client, body) -> None:
    answer = app.test_client().post("/status/subscribe", json=body)
    assert answer.status_code == 400 and answer.get_json()["error"]
    assert stored(redis_client) == {}


def test_unsubscribe_needs_the_subscriber_s_own_token_and_a_get_changes_nothing(
    app, redis_client
) -> None:
    client = app.test_client()
    created = client.post(
        "/status/subscribe", json={"endpoint": "http://127.0.0.1:9/a"}
    ).get_json()["subscriber"]
    link = created["unsubscribe_url"].removeprefix("http://localhost:8000")
    assert client.get(link).status_code == 200  # a link previewer: shows a button only
    assert len(stored(redis_client)) == 1
    wrong = link.rsplit("/", 1)[0] + "/not-the-token"
    assert client.post(wrong).status_code == 404
    assert client.delete(wrong).status_code == 404
    assert len(stored(redis_client)) == 1
    assert client.post(link).status_code == 200
    assert stored(redis_client) == {}
    assert client.post(link).status_code == 404


# -- posting each public update to a loopback subscriber --------------------------------------


def run_worker(redis_client) -> None:
    SimpleWorker(queues(redis_client), connection=redis_client, serializer=JSONSerializer).work(
        burst=True
    )


def subscribe(app, url: str) -> dict:
    answer = app.test_client().post("/status/subscribe", json={"endpoint": url})
    assert answer.status_code == 201
    return answer.get_json()["subscriber"]


def declared_incident(app, redis_client, clock) -> str:
    """A SEV2 checkout incident from Datadog (public impact by the example rules), declared."""
    incident = post(app.test_client(), load_fixture("datadog", "triggered")).get_json()["incident"]
    clock.advance(61)
    tick(redis_client, clock, app.extensions["klaxon"].incidents)
    return incident


def update(app, incident: str, status: str, message: str) -> None:
    answer = app.test_client().post(
        f"/api/incidents/{incident}/updates",
        headers=AUTH,
        # A resolution says whether data was lost (the shipped rules' comms policy).
        json={"status": status, "message": message, "by": "Marco"}
        | ({"data_loss": "no"} if status == "resolved" else {}),
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)


def posts(fake: FakeSubscriber) -> list[Recorded]:
    return [r for r in fake.requests if r.method == "POST"]


def subscriber_jobs_in(redis_client) -> list[Job]:
    found = [
        Job.fetch(job_id, connection=redis_client, serializer=JSONSerializer)
        for job_id in (k.decode().rsplit(":", 1)[-1] for k in redis_client.keys("rq:job:*"))
    ]
    return [j for j in found if j.func_name == "workers.subscriber_jobs.post_to_subscriber"]


def test_each_public_update_reaches_a_subscriber_once_in_statuspage_s_shape(
    app, redis_client, clock, subscriber
) -> None:
    subscribe(app, subscriber.url + "/hook")
    incident = declared_incident(app, redis_client, clock)
    run_worker(redis_client)
    update(app, incident, "identified", "A bad deploy; rolling back")
    run_worker(redis_client)
    update(app, incident, "resolved", "Checkout is back to normal")
    run_worker(redis_client)

    received = [r.json for r in posts(subscriber)]
    assert [p["incident"]["status"] for p in received] == [
        "investigating",
        "identified",
        "resolved",
    ]
    first = received[0]
    assert set(first) == {"meta", "page", "incident"}
    assert first["meta"]["unsubscribe"].startswith("http://localhost:8000/status/unsubscribe/")
    assert first["page"]["status_indicator"] in {"minor", "major", "critical"}
    assert received[-1]["page"]["status_indicator"] == "none"
    assert first["incident"]["id"] == incident
    [announced] = received[1]["incident"]["incident_updates"]
    assert "rolling back" in announced["body"] and announced["status"] == "identified"
    assert received[-1]["incident"]["resolved_at"]
    for request in posts(subscriber):  # signed with the secret, over exactly the body sent
        expected = hmac.new(SUBSCRIBERS_SECRET.encode(), request.body, hashlib.sha256)
        assert request.headers["x-klaxon-signature"] == f"sha256={expected.hexdigest()}"
        assert request.path == "/hook"

    # Every job again, as RQ's retries or a second worker would run them: nothing is re-sent.
    told = [j for j in _jobs(redis_client, "workers.jobs.notify_public") if j.args[0] == incident]
    assert len(told) == 3
    for job in told:
        jobs.notify_public(*job.args)
    for job in subscriber_jobs_in(redis_client):
        assert subscriber_jobs.post_to_subscriber(*job.args) == "already sent"
    run_worker(redis_client)
    assert len(posts(subscriber)) == 3
    timeline = app.test_client().get(f"/api/incidents/{incident}/timeline", headers=AUTH)
    told = [
        e["text"] for e in timeline.get_json()["timeline"] if "subscribers fan_out" in e["text"]
    ]
    assert len(told) == 3 and all("1 subscriber" in text for text in told)


def test_a_failed_post_is_retried_and_arrives_once(app, redis_client, clock, subscriber) -> None:
    subscribe(app, subscriber.url + "/hook")
    subscriber.fail_next(503)
    declared_incident(app, redis_client, clock)
    run_worker(redis_client)  # the post job fails; RQ schedules its retry
    [job] = subscriber_jobs_in(redis_client)
    assert [a.status for a in subscriber.answers] == [503]
    assert subscriber_jobs.post_to_subscriber(*job.args) not in ("already sent", "failed")
    assert subscriber_jobs.post_to_subscriber(*job.args) == "already sent"
    assert [a.status for a in subscriber.answers] == [503, 200]


def test_a_worker_that_died_before_posting_leaves_it_to_the_retry_which_posts_once(
    app, redis_client, clock, subscriber
) -> None:
    """Killed after the ledger said "sending" and before the call: the lease runs out and the
    retry posts, once."""
    subscribe(app, subscriber.url + "/hook")
    declared_incident(app, redis_client, clock)
    jobs.notify(*_first_notify_args(redis_client))  # the pages; enqueues the public part
    klaxon = app.extensions["klaxon"]
    rt = Runtime(klaxon.settings, redis_client, klaxon.ruleset, clock)
    with jobs.running_with(rt):
        [public] = _jobs(redis_client, "workers.jobs.notify_public")
        jobs.notify_public(*public.args)  # the fan-out: one post job enqueued, nothing posted
        [job] = subscriber_jobs_in(redis_client)
        assert redis_client.keys("klaxon:ledger:subscribers:*:SUB-*") == []
        post_key = f"{job.args[0]['idempotency_key']}:{job.args[1]}"
        Ledger(redis_client, clock, 3600).begin(post_key, "subscribers", "x", "post")  # died here
        with pytest.raises(DeliveryError):  # another worker holds it, as far as anyone knows
            subscriber_jobs.post_to_subscriber(*job.args)
        assert posts(subscriber) == []
        clock.advance(121)  # the lease (ledger.LEASE_SECONDS) runs out
        assert subscriber_jobs.post_to_subscriber(*job.args) not in ("already sent", "failed")
        assert subscriber_jobs.post_to_subscriber(*job.args) == "already sent"
    assert len(posts(subscriber)) == 1


def test_a_worker_that_died_after_posting_posts_again_with_the_same_delivery_id(
    app, redis_client, clock, subscriber
) -> None:
    """The one case the ledger cannot settle for a webhook (nobody to ask whether the post
    arrived): the answer was lost, so the retry posts again, with the same X-Klaxon-Delivery
    for the receiver to recognise it (docs/decisions.md, subscribers)."""
    subscribe(app, subscriber.url + "/hook")
    subscriber.lose_next(delay=0.1)
    declared_incident(app, redis_client, clock)
    run_worker(redis_client)
    [job] = subscriber_jobs_in(redis_client)
    subscriber_jobs.post_to_subscriber(*job.args)
    first, second = posts(subscriber)
    assert first.body == second.body
    assert first.headers["x-klaxon-delivery"] == second.headers["x-klaxon-delivery"]


def test_an_unsubscribed_webhook_gets_nothing_more(app, redis_client, clock, subscriber) -> None:
    subscribe(app, subscriber.url + "/hook")
    incident = declared_incident(app, redis_client, clock)
    run_worker(redis_client)
    [first] = posts(subscriber)
    link = first.json["meta"]["unsubscribe"].removeprefix("http://localhost:8000")
    assert app.test_client().post(link).status_code == 200
    update(app, incident, "identified", "A bad deploy; rolling back")
    run_worker(redis_client)
    assert len(posts(subscriber)) == 1


def test_a_subscriber_url_that_now_resolves_privately_is_refused_at_post_time(
    app, redis_client, clock, subscriber, monkeypatch
) -> None:
    """Checked when subscribed, and again before each post (the name may move)."""
    subscribe(app, subscriber.url + "/hook")
    monkeypatch.setenv("KLAXON_SUBSCRIBERS_ALLOW_LOOPBACK", "0")
    jobs.forget_runtime()
    declared_incident(app, redis_client, clock)
    run_worker(redis_client)
    assert posts(subscriber) == []
    [job] = subscriber_jobs_in(redis_client)
    assert subscriber_jobs.post_to_subscriber(*job.args) == "failed"  # final: not retried


def _jobs(redis_client, func_name: str) -> list[Job]:
    found = []
    for key in redis_client.keys("rq:job:*"):
        job = Job.fetch(
            key.decode().rsplit(":", 1)[-1], connection=redis_client, serializer=JSONSerializer
        )
        if job.func_name == func_name:
            found.append(job)
    return found


def _first_notify_args(redis_client) -> tuple:
    [job] = _jobs(redis_client, "workers.jobs.notify")
    return tuple(job.args)


# -- whatever a stranger sends, no 5xx, and a refusal stores nothing ---------------------------

fuzzed_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "http://127.0.0.1:9/ok",
            "http://10.0.0.1/",
            "https://[::1]:99999/",
            "http://127.0.0.1:9/\x00",
            "javascript:alert(1)",
            "http://user:pw@127.0.0.1/",
        ]
    ),
).map(lambda s: s.encode("utf-8", "replace").decode())


@pytest.mark.slow
@fuzz(60)
@given(data=st.data())
def test_the_subscription_routes_never_answer_5xx_and_refusals_store_nothing(
    app, redis_client, data
) -> None:
    client = app.test_client()
    door = data.draw(st.sampled_from(["form", "json", "raw", "unsubscribe"]), label="door")
    before = stored(redis_client)
    if door == "form":
        fields = {"endpoint": data.draw(fuzzed_text, label="endpoint")}
        if data.draw(st.booleans(), label="right csrf?"):
            page = client.get("/status/subscribe").get_data(as_text=True)
            fields["csrf_token"] = re.search(r'value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        response = client.post("/status/subscribe", data=fields)
    elif door == "json":
        body = data.draw(
            st.one_of(
                st.fixed_dictionaries({"endpoint": fuzzed_text}),
                st.fixed_dictionaries(
                    {"subscriber": st.fixed_dictionaries({"endpoint": fuzzed_text})}
                ),
                st.lists(fuzzed_text, max_size=2),
                fuzzed_text,
                st.none(),
            ),
            label="body",
        )
        response = client.post("/status/subscribe", json=body)
    elif door == "raw":
        raw = data.draw(st.binary(max_size=60), label="raw")
        response = client.post(
            "/status/subscribe", data=raw, headers={"Content-Type": "application/json"}
        )
    else:
        path = "/".join(
            quote(data.draw(fuzzed_text, label=part), safe="") for part in ("id", "token")
        )
        method = data.draw(st.sampled_from(["GET", "POST", "DELETE"]), label="method")
        response = client.open(f"/status/unsubscribe/{path}", method=method)
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    if response.status_code >= 400:
        assert stored(redis_client) == before


def test_storage_trouble_is_503_with_retry_after(monkeypatch, redis_url, clock) -> None:
    from app.store.connection import connect

    for name, value in vendor_environment(SECRETS, redis_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KLAXON_SUBSCRIBERS_SECRET", SUBSCRIBERS_SECRET)
    monkeypatch.setenv("KLAXON_SUBSCRIBERS_ALLOW_LOOPBACK", "1")
    connection = connect("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        client = create_app(Settings.from_env(), connection=connection, clock=clock).test_client()
        answer = client.post("/status/subscribe", json={"endpoint": "http://127.0.0.1:9/a"})
        assert answer.status_code == 503 and int(answer.headers["Retry-After"]) > 0
        assert client.post("/status/unsubscribe/SUB-1/token").status_code == 503
    finally:
        connection.close()


# -- a real worker process, stopped or killed mid-post -----------------------------------------


@pytest.fixture
def dyno_env(vendors_in_environment, monkeypatch) -> dict:
    extra = {
        "KLAXON_SUBSCRIBERS_SECRET": SUBSCRIBERS_SECRET,
        "KLAXON_SUBSCRIBERS_ALLOW_LOOPBACK": "1",
    }
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    return {**vendors_in_environment, **extra}


def subscribe_in_process(redis_client, clock, url: str) -> None:
    app = create_app(Settings.from_env(), connection=redis_client, clock=clock)
    assert app.test_client().post("/status/subscribe", json={"endpoint": url}).status_code == 201


@pytest.mark.slow
def test_heroku_sigterm_mid_post_lets_it_finish_and_the_restarted_dyno_posts_nothing_more(
    dyno_env, redis_client, clock, fake_subscriber
) -> None:
    import signal

    from test_worker_crash import dyno_processes, open_incident, start_worker, wait_for

    subscribe_in_process(redis_client, clock, fake_subscriber.url + "/hook")
    open_incident(redis_client)
    fake_subscriber.slow_next(2)  # the post is in flight when the dyno is told to stop
    worker = start_worker(dyno_env)
    wait_for(lambda: len(posts(fake_subscriber)) == 1)
    for process in dyno_processes(worker):
        process.send_signal(signal.SIGTERM)  # Heroku signals every process in the dyno
    worker.wait(timeout=30)
    again = start_worker(dyno_env)  # the restarted dyno
    try:
        time.sleep(3)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
    assert len(posts(fake_subscriber)) == 1


@pytest.mark.slow
def test_sigkill_mid_post_the_retry_repeats_it_with_the_same_delivery_id(
    dyno_env, redis_client, clock, fake_subscriber
) -> None:
    """The exception README and docs/decisions 18 name: the post left, its answer was never
    recorded; the retry (the lease run out) posts again, recognisably the same."""
    from test_worker_crash import kill_dyno, open_incident, start_worker, wait_for

    from app.clock import VirtualClock
    from app.ruleset import load_ruleset

    subscribe_in_process(redis_client, clock, fake_subscriber.url + "/hook")
    open_incident(redis_client)
    fake_subscriber.slow_next(30)
    worker = start_worker(dyno_env)
    try:
        wait_for(lambda: len(posts(fake_subscriber)) == 1)
    finally:
        kill_dyno(worker)
    settings = Settings.from_env()
    later = VirtualClock(time.time() + 121)  # the dead worker's ledger lease has run out
    rt = Runtime(settings, redis_client, load_ruleset(settings.rules_dir), clock=later)
    [job] = subscriber_jobs_in(redis_client)
    with jobs.running_with(rt):
        subscriber_jobs.post_to_subscriber(*job.args)
        assert subscriber_jobs.post_to_subscriber(*job.args) == "already sent"
    first, second = posts(fake_subscriber)
    assert first.headers["x-klaxon-delivery"] == second.headers["x-klaxon-delivery"]
