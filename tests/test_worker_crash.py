"""Workers killed mid-job never page or post twice: a real `python -m workers` process is
killed while its call to a fake vendor is in flight (SIGKILL, and Heroku's SIGTERM to every
process of the dyno), then the job runs again as RQ's retry would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import load_fixture, post
from webhook_helpers import fatal_sentry_error

from app import create_app
from app.clock import VirtualClock
from app.ruleset import load_ruleset
from app.settings import Settings
from workers import jobs
from workers.channels import DeliveryError

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture
def env(vendors_in_environment) -> dict:
    return vendors_in_environment


def start_worker(values: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workers"],
        cwd=ROOT,
        env={**os.environ, **values, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def open_incident(redis_client, sev1: bool = False) -> str:
    """A checkout incident, declared at once: SEV2 from Datadog, or SEV1 (which also posts on
    X) from a fatal Sentry error."""
    clock = VirtualClock(time.time())  # real time: the worker's own ticker must find nothing due
    app = create_app(Settings.from_env(), connection=redis_client, clock=clock)
    client = app.test_client()
    answer = (
        fatal_sentry_error(client) if sev1 else post(client, load_fixture("datadog", "triggered"))
    )
    incident = answer.get_json()["incident"]
    app.extensions["klaxon"].enqueue(incident, "declared", "", "first notification")
    return incident


def wait_for(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def dyno_processes(worker: subprocess.Popen) -> list[psutil.Process]:
    parent = psutil.Process(worker.pid)
    return [parent, *parent.children(recursive=True)]


def kill_dyno(worker: subprocess.Popen) -> None:
    """SIGKILL every process of the dyno and wait until each is gone (its Redis connections
    closed), as when a dyno is lost."""
    processes = dyno_processes(worker)
    for process in processes:
        process.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    psutil.wait_procs(processes, timeout=10)


def triggers(fake) -> list[str]:
    return [r.json["dedup_key"] for r in fake.requests if r.json.get("event_action") == "trigger"]


def test_sigkill_mid_call_then_retry_pages_once(
    env, redis_client, fake_pagerduty, fake_statuspage
) -> None:
    incident = open_incident(redis_client)
    fake_pagerduty.slow_next(30)  # the page is in flight when the worker dies
    worker = start_worker(env)
    try:  # the status page, told by the public part meanwhile, does not wait for the page
        wait_for(lambda: len(fake_pagerduty.requests) == len(fake_statuspage.requests) == 1)
    finally:
        kill_dyno(worker)  # no handler runs: nothing is recorded after

    # RQ finds the job abandoned and retries it; by then the ledger's lease has run out.
    later = VirtualClock(time.time() + 121)
    settings = Settings.from_env()
    rt = jobs.Runtime(settings, redis_client, load_ruleset(settings.rules_dir), clock=later)
    with jobs.running_with(rt):  # the retried job, in a worker whose clock is 2 minutes on
        jobs.notify(incident, "declared", "", "retry after the crash")
        jobs.notify(incident, "declared", "", "and a second retry")
    assert set(triggers(fake_pagerduty)) == {incident}  # PagerDuty dedups by key: one page
    assert len([r for r in fake_statuspage.requests if r.method == "POST"]) == 1


def test_sigkill_mid_call_the_abandoned_job_is_retried_by_rq_and_pages_once(
    env, redis_client, fake_pagerduty, fake_statuspage
) -> None:
    """The same crash through RQ's own recovery: the dead worker's job stays started until its
    registry entry expires (job timeout + 60 s), the next maintenance retries it, and the
    retried job, run by Klaxon's worker class, pages under the same dedup key; the status-page
    incident, created meanwhile by the event's public part, is not created again."""
    from rq import Queue
    from rq.job import Job, JobStatus
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry
    from rq.serializers import JSONSerializer

    from app.queue_names import NOTIFY_QUEUE
    from workers.worker import InlineHerokuWorker

    incident = open_incident(redis_client)
    fake_pagerduty.slow_next(30)
    worker = start_worker(env)
    try:
        wait_for(lambda: len(fake_pagerduty.requests) == len(fake_statuspage.requests) == 1)
    finally:
        kill_dyno(worker)
    killed_at = time.time()

    queue = Queue(NOTIFY_QUEUE, connection=redis_client, serializer=JSONSerializer)
    [job_id] = StartedJobRegistry(queue=queue).get_job_ids(cleanup=False)
    StartedJobRegistry(queue=queue).cleanup(killed_at + 181)  # maintenance, 3 minutes on
    job = Job.fetch(job_id, connection=redis_client, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 5
    ScheduledJobRegistry(queue=queue).remove(job)  # what the scheduler does when it falls due
    queue.enqueue_job(job)

    settings = Settings.from_env()
    later = VirtualClock(time.time() + 181)  # the dead worker's ledger lease has run out
    rt = jobs.Runtime(settings, redis_client, load_ruleset(settings.rules_dir), clock=later)
    with jobs.running_with(rt):
        InlineHerokuWorker([queue], connection=redis_client, serializer=JSONSerializer).work(
            burst=True
        )
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert triggers(fake_pagerduty) == [incident, incident]  # one dedup key: one page
    assert len([r for r in fake_statuspage.requests if r.method == "POST"]) == 1


def test_heroku_sigterm_mid_call_lets_the_call_finish_and_record(
    env, redis_client, fake_pagerduty, fake_statuspage
) -> None:
    incident = open_incident(redis_client)
    fake_pagerduty.slow_next(2)
    worker = start_worker(env)
    wait_for(lambda: len(fake_pagerduty.requests) == 1)
    for process in dyno_processes(worker):
        process.send_signal(signal.SIGTERM)  # Heroku signals every process in the dyno
    worker.wait(timeout=30)
    again = start_worker(env)  # the restarted dyno
    try:
        time.sleep(3)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
    assert triggers(fake_pagerduty) == [incident]
    assert len(fake_statuspage.requests) == 1


def test_heroku_sigterm_during_a_call_longer_than_the_grace_fails_the_job_for_a_retry(
    env, redis_client, fake_pagerduty, fake_statuspage
) -> None:
    """The call outlasts the grace: the job is interrupted inside the HTTP read and fails
    cleanly; the ledger says the page may have been made, so the retry RQ schedules (seconds
    later, run by the restarted dyno) pages again under the same dedup key (one PagerDuty
    incident) without waiting out the ledger's lease. The status page, the public part's,
    was told meanwhile and is not told again."""
    from rq import Queue
    from rq.job import Job, JobStatus
    from rq.registry import ScheduledJobRegistry
    from rq.serializers import JSONSerializer

    from app.queue_names import NOTIFY_QUEUE
    from app.store.ledger import Ledger

    incident = open_incident(redis_client)
    fake_pagerduty.slow_next(30)
    worker = start_worker(env)
    wait_for(lambda: len(fake_pagerduty.requests) == len(fake_statuspage.requests) == 1)
    for process in dyno_processes(worker):
        process.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0

    queue = Queue(NOTIFY_QUEUE, connection=redis_client, serializer=JSONSerializer)
    [job_id] = ScheduledJobRegistry(queue=queue).get_job_ids()
    job = Job.fetch(job_id, connection=redis_client, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 5
    ledger = Ledger(redis_client, VirtualClock(time.time()))
    assert ledger.entry(f"pagerduty:{incident}:declared:0").state == "maybe"

    again = start_worker(env)  # the restarted dyno; its scheduler enqueues the retry
    try:
        wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, seconds=30)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=30)
    assert triggers(fake_pagerduty) == [incident, incident]
    assert len([r for r in fake_statuspage.requests if r.method == "POST"]) == 1


def test_a_job_timeout_during_a_call_leaves_the_page_for_the_retry_to_make_safely(
    env, redis_client, fake_pagerduty, fake_statuspage
) -> None:
    """RQ's job timeout interrupts the call (in the worker process itself): the ledger says
    the page may have been made, so the retry pages again under the same key at once."""
    from rq import Queue, Retry
    from rq.job import JobStatus
    from rq.serializers import JSONSerializer

    from app.queue_names import NOTIFY_QUEUE
    from app.store.ledger import Ledger
    from workers.queues import single_worker_queues
    from workers.worker import InlineHerokuWorker

    clock = VirtualClock(time.time())
    app = create_app(Settings.from_env(), connection=redis_client, clock=clock)
    incident = post(app.test_client(), load_fixture("datadog", "triggered")).get_json()["incident"]
    queue = Queue(NOTIFY_QUEUE, connection=redis_client, serializer=JSONSerializer)
    job = queue.enqueue(
        "workers.jobs.notify",
        incident,
        "declared",
        "",
        "test",
        None,
        job_timeout=1,
        retry=Retry(max=1),
    )
    fake_pagerduty.slow_next(5)
    worker = InlineHerokuWorker(
        single_worker_queues(redis_client), connection=redis_client, serializer=JSONSerializer
    )  # the public part's queue too
    worker.work(burst=True, max_jobs=1)
    assert job.get_status(refresh=True) == JobStatus.QUEUED  # Retry(max=1): again at once
    ledger = Ledger(redis_client, clock)
    assert ledger.entry(f"pagerduty:{incident}:declared:0").state == "maybe"
    worker.work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert triggers(fake_pagerduty) == [incident, incident]
    assert len([r for r in fake_statuspage.requests if r.method == "POST"]) == 1


def test_timers_survive_stopping_every_process_and_fire_once(
    env, redis_client, fake_pagerduty
) -> None:
    """A quiet-period timer falls due while no worker runs; the next worker fires it once,
    and a second worker started alongside does not fire it again."""
    from app.store.incidents import IncidentStore
    from app.store.timers import Timers

    clock = VirtualClock(time.time())
    app = create_app(Settings.from_env(), connection=redis_client, clock=clock)
    client = app.test_client()
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    post(client, load_fixture("datadog", "recovered"))
    store = IncidentStore(redis_client, clock, 3600)
    # Every process is stopped; the quiet period (5 min) passes while nothing runs.
    now = time.time()
    Timers(redis_client).schedule("declare", incident, now - 301)  # group_wait ended first
    Timers(redis_client).schedule("resolve", incident, now - 1)
    workers = [start_worker(env), start_worker(env)]
    try:
        # Two dynos of 6 processes start before a ticker ticks: slow on a loaded machine.
        wait_for(lambda: (store.incident(incident) or {}).get("status") == "resolved", 60)
        time.sleep(2)  # both tickers have ticked again by now
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
    kinds = [e["kind"] for e in store.timeline(incident)]
    # The alert recovered before group_wait ended: never declared (issue 13), so no page and
    # no post-mortem to chase; each timer still fired once.
    assert kinds.count("resolved") == 1 and kinds.count("resolved_before_declared") == 1
    assert "declared" not in kinds and fake_pagerduty.requests == []
    assert [t.kind for t in Timers(redis_client).pending()] == []


def test_a_statuspage_create_whose_answer_was_lost_is_found_not_repeated(
    env, redis_client, fake_statuspage
) -> None:
    """The worker died after Statuspage created the incident and before the ledger recorded
    it: the retry finds the incident by Klaxon's marker instead of creating a second one."""
    from app.store.ledger import Ledger
    from workers.channels import Channel, OutboundMessage, statuspage

    incident = open_incident(redis_client)
    settings = Settings.from_env()
    key = f"statuspage:{incident}:declared:0"
    Ledger(redis_client, VirtualClock(time.time())).begin(key, "statuspage", incident, "create")
    statuspage.send(
        OutboundMessage(
            Channel.STATUSPAGE,
            "create",
            incident,
            "declared",
            key,
            {
                "incident": {
                    "name": "Partial outage: Checkout API",
                    "status": "investigating",
                    "metadata": {"klaxon": {"incident": incident}},
                }
            },
        ),
        statuspage.StatuspageCredentials.from_outbound(settings.outbound),
    )
    later = VirtualClock(time.time() + 121)  # the dead worker's lease has run out
    rt = jobs.Runtime(settings, redis_client, load_ruleset(settings.rules_dir), clock=later)
    with jobs.running_with(rt):
        jobs.notify_public(incident, "declared", "", "retry after the crash")
    assert [r.method for r in fake_statuspage.requests] == ["POST", "GET"]
    assert (
        redis_client.hget(f"klaxon:incident:{incident}", "statuspage_id").decode()
        == fake_statuspage.answers[0].body["id"]
    )


def test_a_statuspage_create_that_timed_out_after_it_was_made_is_found_not_repeated(
    env, redis_client, fake_statuspage
) -> None:
    """Statuspage made the incident but the answer never came (the connection dropped): the
    attempt fails as retryable, and RQ's retry looks for the incident before creating one."""
    incident = open_incident(redis_client)
    fake_statuspage.lose_next()
    with pytest.raises(DeliveryError):
        jobs.notify_public(incident, "declared", "", "first try")
    settings = Settings.from_env()
    rt = jobs.Runtime(
        settings,
        redis_client,
        load_ruleset(settings.rules_dir),
        clock=VirtualClock(time.time() + 30),
    )
    with jobs.running_with(rt):
        jobs.notify_public(incident, "declared", "", "RQ's retry")
    assert [r.method for r in fake_statuspage.requests] == ["POST", "GET"]
    [made] = fake_statuspage.incidents
    assert redis_client.hget(f"klaxon:incident:{incident}", "statuspage_id").decode() == made


def test_an_x_post_whose_answer_was_lost_is_found_and_the_thread_goes_on(
    env, redis_client, fake_x
) -> None:
    """The worker dies after X made the post and before the ledger recorded it: the retry
    finds the post among the account's recent posts instead of posting again, and the next
    update replies to it."""
    incident = open_incident(redis_client, sev1=True)
    fake_x.lose_next(30)  # X makes the post; its answer is still on the way when the worker dies
    worker = start_worker(env)
    try:
        wait_for(lambda: len(fake_x.posts) == 1)
    finally:
        kill_dyno(worker)
    [first] = fake_x.posts

    later = VirtualClock(time.time() + 121)  # the dead worker's lease has run out
    settings = Settings.from_env()
    rt = jobs.Runtime(settings, redis_client, load_ruleset(settings.rules_dir), clock=later)
    with jobs.running_with(rt):  # the public part's retry
        jobs.notify_public(incident, "declared", "", "retry after the crash")
        assert [(r.method, r.path) for r in fake_x.requests[1:]] == [
            ("GET", "/2/users/me"),
            ("GET", f"/2/users/{fake_x.USER['id']}/tweets"),
        ]
        rt.incidents.post_update(incident, "identified", "A bad deploy; rolling back.", "Marco")
        jobs.notify_public(
            incident,
            "update_posted",
            "1",
            "status update posted",
            {"status": "identified", "message": "A bad deploy; rolling back.", "by": "Marco"},
        )
    posts = [r for r in fake_x.requests if r.method == "POST"]
    assert len(posts) == 2 and len(fake_x.posts) == 2  # the lost post, then the update
    assert posts[-1].json["reply"] == {"in_reply_to_tweet_id": first}
