"""Each lifecycle event is told in two parts (docs/decisions.md 11): the pages, and the
public part (status page, X) on its own queue and workers. A page never waits for a public
channel; the public part of one incident keeps its order, is enqueued once, fails into
`klaxon failed` on its own, and is never enqueued for an incident nothing public hears of.

Real worker processes (`python -m workers`) where timing between the parts matters, RQ's
SimpleWorker in the test process elsewhere; real Redis and the loopback vendor fakes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import load_fixture
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer
from rq.worker import Worker
from webhook_helpers import fatal_sentry_error, send

from app import create_app
from app.cli import main as klaxon
from app.clock import VirtualClock
from app.notifications import public_job_id
from app.queue_names import NOTIFY_QUEUE, PUBLIC_QUEUE
from app.settings import Settings
from app.store import keys
from app.store.ledger import Ledger
from app.store.ratelimit import RateLimiter
from app.store.timers import Timers
from workers import jobs
from workers.channels import CHANNELS, Channel
from workers.queues import queues

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture
def env(vendors_in_environment) -> dict:
    return vendors_in_environment


@pytest.fixture
def app(env, redis_client):
    # Real time: a worker process's own ticker must find nothing due during a test.
    return create_app(Settings.from_env(), connection=redis_client, clock=VirtualClock(time.time()))


def checkout_outage(client, n: int = 0, priority: str = "P2") -> str:
    """A Datadog alert on checkout in environment number `n` (group keys differ by environment
    outside production): its own incident, SEV2 by default (pages, and a status-page create),
    or SEV3 with priority P3 (neither)."""
    fixture = load_fixture("datadog", "triggered")
    body = fixture.json
    body["id"] = body["alert"]["id"] = f"outage-{n}"
    body["alert"]["priority"] = priority
    body["tags"] = body["tags"].replace("env:prod", f"env:canary-{n}")
    return send(client, fixture, json.dumps(body).encode()).get_json()["incident"]


def declare(app, incident: str) -> None:
    """What the declare timer does once group_wait is over."""
    klaxon_app = app.extensions["klaxon"]
    assert klaxon_app.incidents.declare(incident) == "declared"
    klaxon_app.enqueue(incident, "declared", "", "first notification")


def use_up_statuspage_limit(redis_client, seconds: int) -> float:
    """Other workers took Statuspage's shared budget (one call a second per key) for the next
    `seconds`; returns when it opens again, on the fakes' clock (time.monotonic)."""
    now = time.time()
    for taken in range(seconds):
        RateLimiter(redis_client, VirtualClock(now + taken)).acquire(
            "statuspage", "statuspage", CHANNELS[Channel.STATUSPAGE].rate_limit
        )
    return time.monotonic() + seconds - (time.time() - now)


def start_workers(values: dict, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workers"],
        cwd=ROOT,
        env={**os.environ, **values, **extra, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(workers: subprocess.Popen) -> None:
    workers.send_signal(signal.SIGTERM)
    assert workers.wait(timeout=30) == 0


def wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def idle_workers(redis_client, count: int):
    return lambda: [w.get_state() for w in Worker.all(connection=redis_client)] == ["idle"] * count


def run_jobs(redis_client, *names: str) -> None:
    """What workers on these queues do until they are empty (every queue if none named)."""
    worked = [q for q in queues(redis_client) if not names or q.name in names]
    SimpleWorker(worked, connection=redis_client, serializer=JSONSerializer).work(burst=True)


def creates(fake_statuspage) -> list:
    return [r for r in fake_statuspage.requests if r.method == "POST"]


def statuses(fake_statuspage) -> list[tuple[str, str]]:
    return [(r.method, r.json["incident"]["status"]) for r in fake_statuspage.requests]


@pytest.fixture
def unmerged(env, monkeypatch, tmp_path) -> dict:
    """The shipped rules without checkout's status-page component: three checkout incidents
    open at once then stay three (they are merged only on a shared component, issue 13)."""
    rules = tmp_path / "rules"
    shutil.copytree(
        Path(__file__).parent.parent / "rules", rules, ignore=shutil.ignore_patterns("tests")
    )
    services = rules / "services.yml"
    text = services.read_text()
    without = text.replace("    component: ftgks51sfs2d                          # Checkout\n", "")
    assert without != text
    services.write_text(without)
    monkeypatch.setenv("KLAXON_RULES_DIR", str(rules))
    env["KLAXON_RULES_DIR"] = str(rules)
    jobs.forget_runtime()
    return env


def test_pages_do_not_wait_while_the_status_page_waits_for_its_shared_limit(
    unmerged, app, env, redis_client, fake_pagerduty, fake_statuspage
) -> None:
    """A big outage: three SEV2 incidents open at once while Statuspage's shared limit is used
    up for five seconds. Before the split, the two page workers each paged and then slept on
    the limit, and the third incident's page waited for one of them; now every page reaches
    PagerDuty at once, and each status-page create follows once the limit opens."""
    workers = start_workers(env)  # 2 workers for pages, 1 for the public part
    try:
        wait_for(idle_workers(redis_client, 3))
        client = app.test_client()
        incidents = [checkout_outage(client, n) for n in range(3)]
        limit_opens = use_up_statuspage_limit(redis_client, 5)
        for incident in incidents:
            declare(app, incident)
        wait_for(lambda: len(creates(fake_statuspage)) == 3)
    finally:
        stop(workers)
    pages = {
        r.json["dedup_key"]: r.time
        for r in fake_pagerduty.requests
        if r.json["event_action"] == "trigger"
    }
    assert sorted(pages) == sorted(incidents)
    assert max(pages.values()) < limit_opens - 2  # well before the status page could go
    made = creates(fake_statuspage)
    assert min(r.time for r in made) > limit_opens - 0.1
    assert sorted(r.json["incident"]["metadata"]["klaxon"]["incident"] for r in made) == sorted(
        incidents
    )  # one create each
    assert len(fake_statuspage.requests) == 3


def test_the_public_part_of_one_incident_keeps_its_order_with_several_public_workers(
    app, env, redis_client, fake_statuspage
) -> None:
    """The update and the resolution are posted while the status-page create waits for the
    shared limit, and a second public worker is idle: each waits for the incident's previous
    public part, so Statuspage sees the create, the update and the resolution, once each and
    in that order (taken at once, the update would have created a second incident and the
    resolution found none to close)."""
    workers = start_workers(env, KLAXON_PUBLIC_WORKER_PROCESSES="2")
    try:
        wait_for(idle_workers(redis_client, 4))
        klaxon_app = app.extensions["klaxon"]
        incident = checkout_outage(app.test_client())
        use_up_statuspage_limit(redis_client, 3)
        declare(app, incident)
        # The create is planned (its context read, its ledger entry begun) and waits.
        ledger = Ledger(redis_client, VirtualClock(time.time()))
        wait_for(lambda: ledger.entry(f"statuspage:{incident}:declared:0") is not None)
        klaxon_app.post_update(incident, "identified", "A bad deploy; rolling back", "Marco")
        klaxon_app.post_update(incident, "resolved", "Latency is back to normal", "Marco")
        wait_for(lambda: len(fake_statuspage.requests) == 3)
        public = Queue(PUBLIC_QUEUE, connection=redis_client, serializer=JSONSerializer)
        wait_for(lambda: public.count == 0 and not public.started_job_registry.get_job_ids())
    finally:
        stop(workers)
    assert statuses(fake_statuspage) == [
        ("POST", "investigating"),
        ("PATCH", "identified"),
        ("PATCH", "resolved"),
    ]
    made = fake_statuspage.answers[0].body["id"]
    assert [r.path.rsplit("/", 1)[-1] for r in fake_statuspage.requests[1:]] == [made, made]


def test_a_retried_notify_job_enqueues_the_public_part_once(
    app, redis_client, fake_pagerduty, fake_statuspage
) -> None:
    incident = checkout_outage(app.test_client())
    declare(app, incident)
    fake_pagerduty.fail_next(503)
    run_jobs(redis_client, NOTIFY_QUEUE)  # the page fails; RQ schedules a retry
    notify = Queue(NOTIFY_QUEUE, connection=redis_client, serializer=JSONSerializer)
    [job_id] = ScheduledJobRegistry(queue=notify).get_job_ids()
    public = Queue(PUBLIC_QUEUE, connection=redis_client, serializer=JSONSerializer)
    assert public.get_job_ids() == [public_job_id(incident, "declared", "")]  # before the page

    job = Job.fetch(job_id, connection=redis_client, serializer=JSONSerializer)
    ScheduledJobRegistry(queue=notify).remove(job)  # the scheduler: the retry falls due
    notify.enqueue_job(job)
    run_jobs(redis_client, NOTIFY_QUEUE)
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert public.get_job_ids() == [public_job_id(incident, "declared", "")]
    jobs.notify(incident, "declared", "", "a requeue by hand")  # once more: still one
    assert public.get_job_ids() == [public_job_id(incident, "declared", "")]

    run_jobs(redis_client, PUBLIC_QUEUE)
    assert [a.status for a in fake_pagerduty.answers] == [503, 202]
    assert statuses(fake_statuspage) == [("POST", "investigating")]


def test_a_refused_public_message_ends_in_klaxon_failed_and_the_requeue_sends_only_it(
    app, redis_url, redis_client, fake_pagerduty, fake_statuspage, fake_x
) -> None:
    """X refuses the post for good: the public job fails without retries (the page and the
    status page are unaffected), the timeline names it with the command that requeues it,
    `klaxon failed` lists it, and the requeue, after the fix, posts only to X."""
    incident = fatal_sentry_error(app.test_client()).get_json()["incident"]
    declare(app, incident)
    fake_x.fail_next(400)
    run_jobs(redis_client)
    public = Queue(PUBLIC_QUEUE, connection=redis_client, serializer=JSONSerializer)
    job_id = public_job_id(incident, "declared", "")
    assert FailedJobRegistry(queue=public).get_job_ids() == [job_id]
    assert ScheduledJobRegistry(queue=public).get_job_ids() == []  # no retry planned
    notify = Queue(NOTIFY_QUEUE, connection=redis_client, serializer=JSONSerializer)
    assert FailedJobRegistry(queue=notify).get_job_ids() == []
    timeline = app.extensions["klaxon"].incidents.timeline(incident)
    assert any(
        e["kind"] == "delivery_failed"
        and e["text"].startswith("public notification (status page, X) declared was refused")
        and f"klaxon failed --requeue {job_id}" in e["text"]
        for e in timeline
    )

    listed = CliRunner().invoke(klaxon, ["failed"], env={"REDIS_URL": redis_url})
    assert f"{job_id}  {PUBLIC_QUEUE}" in listed.output and "refused for good" in listed.output
    requeued = CliRunner().invoke(
        klaxon, ["failed", "--requeue", job_id], env={"REDIS_URL": redis_url}
    )
    assert f"requeued {job_id}" in requeued.output
    run_jobs(redis_client)
    assert FailedJobRegistry(queue=public).get_job_ids() == []
    assert [a.status for a in fake_x.answers if a.status != 200] == [400, 201]
    assert len(fake_x.posts) == 1
    assert statuses(fake_statuspage) == [("POST", "investigating")]  # not made again
    assert len(fake_pagerduty.requests) == 1


def test_an_incident_nothing_public_hears_of_gets_no_public_job(app, redis_client) -> None:
    """SEV3: no status page, no X by policy. Its notify jobs enqueue nothing on the public
    queue, and still do what follows the declaration (the ack clock)."""
    klaxon_app = app.extensions["klaxon"]
    incident = checkout_outage(app.test_client(), priority="P3")
    assert klaxon_app.incidents.incident(incident)["severity"] == "SEV3"
    declare(app, incident)
    klaxon_app.post_update(incident, "identified", "A bad deploy; rolling back", "Marco")
    run_jobs(redis_client, NOTIFY_QUEUE)
    public = Queue(PUBLIC_QUEUE, connection=redis_client, serializer=JSONSerializer)
    assert public.get_job_ids() == [] and public.deferred_job_registry.get_job_ids() == []
    assert not redis_client.exists(keys.incident_last_public_job(incident))
    assert "escalate" in {t.kind for t in Timers(redis_client).pending()}


def test_an_acknowledgement_gets_no_public_job(app, redis_client, fake_statuspage) -> None:
    """Customers hear of impact, not of who picked up the page: a public incident's
    acknowledgement is a job for the pages alone."""
    klaxon_app = app.extensions["klaxon"]
    incident = checkout_outage(app.test_client())
    declare(app, incident)
    run_jobs(redis_client)
    klaxon_app.incidents.acknowledge(incident, "Marco", via="API")
    klaxon_app.enqueue(incident, "acknowledged", "", "acknowledged by Marco")
    run_jobs(redis_client, NOTIFY_QUEUE)
    public = Queue(PUBLIC_QUEUE, connection=redis_client, serializer=JSONSerializer)
    assert public.get_job_ids() == []
    assert not Job.exists(public_job_id(incident, "acknowledged", ""), connection=redis_client)
    assert statuses(fake_statuspage) == [("POST", "investigating")]
