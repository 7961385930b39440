"""The outbound ledger (each effect once, even across crashes and racing workers) and the
outbox (what would have been sent), over a real Redis."""

from __future__ import annotations

import threading

from click.testing import CliRunner
from conftest import SECRETS

from app.cli import main
from app.store.connection import connect
from app.store.ledger import LEASE_SECONDS, Ledger
from app.store.outbox import Outbox

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
KEY = "pagerduty:trigger:INC-2026-0001:declared"


def test_an_effect_is_sent_once(redis_client, clock) -> None:
    ledger = Ledger(redis_client, clock)
    assert ledger.begin(KEY, "pagerduty", "INC-2026-0001", "trigger") == "send"
    ledger.complete(KEY, vendor_id="INC-2026-0001")
    assert ledger.begin(KEY, "pagerduty", "INC-2026-0001", "trigger") == "sent"
    assert ledger.entry(KEY).attempts == 1


def test_a_send_that_never_finished_is_reported_unsure_after_its_lease(redis_client, clock) -> None:
    ledger = Ledger(redis_client, clock)
    assert ledger.begin(KEY, "x", "INC-2026-0001", "post") == "send"
    # the worker is killed here, between the call and the record
    assert ledger.begin(KEY, "x", "INC-2026-0001", "post") == "busy"
    clock.advance(LEASE_SECONDS + 1)
    assert ledger.begin(KEY, "x", "INC-2026-0001", "post") == "unsure"


def test_a_failed_effect_may_be_tried_again(redis_client, clock) -> None:
    ledger = Ledger(redis_client, clock)
    ledger.begin(KEY, "statuspage", "INC-2026-0001", "create")
    ledger.fail(KEY, "statuspage: client_error (HTTP 422)")
    assert ledger.begin(KEY, "statuspage", "INC-2026-0001", "create") == "send"


def test_a_call_that_got_no_answer_is_unsure_next_time(redis_client, clock) -> None:
    ledger = Ledger(redis_client, clock)
    ledger.begin(KEY, "statuspage", "INC-2026-0001", "create")
    ledger.fail(KEY, "statuspage: timeout", maybe_made=True)  # the vendor may have acted
    assert ledger.begin(KEY, "statuspage", "INC-2026-0001", "create") == "unsure"
    assert ledger.begin(KEY, "statuspage", "INC-2026-0001", "create") == "busy"  # leased again


def test_racing_workers_never_both_send(redis_url, redis_client, clock) -> None:
    ledgers = [Ledger(connect(redis_url), clock) for _ in range(8)]
    barrier = threading.Barrier(len(ledgers))
    answers: list[str] = []

    def race(ledger: Ledger) -> None:
        barrier.wait()
        answers.append(ledger.begin(KEY, "pagerduty", "INC-2026-0001", "trigger"))

    threads = [threading.Thread(target=race, args=(ledger,)) for ledger in ledgers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["busy"] * 7 + ["send"]


def message(incident: str, channel: str = "statuspage") -> dict:
    return {
        "channel": channel,
        "action": "create",
        "incident_id": incident,
        "event": "declared",
        "idempotency_key": f"{channel}:{incident}",
        "body": {"incident": {"name": "Checkout is slow", "status": "investigating"}},
    }


def test_outbox_lists_newest_first_and_filters(app, client, redis_client, clock) -> None:
    box = app.extensions["klaxon"].outbox
    box.add(message("INC-2026-0001"))
    clock.advance(5)
    box.add(message("INC-2026-0002", channel="x"))
    listed = client.get("/api/outbox", headers=AUTH).get_json()["messages"]
    assert [m["incident_id"] for m in listed] == ["INC-2026-0002", "INC-2026-0001"]
    only_x = client.get("/api/outbox?channel=x", headers=AUTH).get_json()["messages"]
    assert [m["channel"] for m in only_x] == ["x"]
    assert client.get("/api/outbox").status_code == 401


def test_klaxon_outbox_prints_the_messages(redis_url, redis_client, clock, monkeypatch) -> None:
    Outbox(redis_client, clock).add(message("INC-2026-0007"))
    monkeypatch.setenv("REDIS_URL", redis_url)
    result = CliRunner().invoke(main, ["outbox", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "statuspage create" in " ".join(result.output.split())
    assert "Checkout is slow" in result.output


def test_klaxon_failed_lists_and_requeues(redis_url, redis_client, monkeypatch) -> None:
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from workers.queues import queues

    notify_queue = queues(redis_client)[0]
    job = notify_queue.enqueue("jobs_for_tests.fail_with_secret", "x" * 8, job_id="notify-broken")
    SimpleWorker([notify_queue], connection=redis_client, serializer=JSONSerializer).work(
        burst=True
    )
    monkeypatch.setenv("REDIS_URL", redis_url)
    listed = CliRunner().invoke(main, ["failed"])
    assert listed.exit_code == 0, listed.output
    assert (
        "notify-broken" in listed.output
        and "klaxon failed --requeue notify-broken" in listed.output
    )
    requeued = CliRunner().invoke(main, ["failed", "--requeue", job.id])
    assert "requeued notify-broken" in requeued.output
    assert job.id in notify_queue.get_job_ids()


def test_every_attempt_sends_the_first_body_until_the_vendor_refuses_it(
    redis_client, clock
) -> None:
    ledger = Ledger(redis_client, clock)
    ledger.begin(KEY, "x", "INC-2026-0001", "post")
    assert ledger.first_body(KEY, "next update by 09:50") == "next update by 09:50"
    ledger.fail(KEY, "x: timeout")  # the post may have been made
    ledger.begin(KEY, "x", "INC-2026-0001", "post")
    assert ledger.first_body(KEY, "next update by 09:52") == "next update by 09:50"
    ledger.fail(KEY, "x: client_error (HTTP 400)", final=True)  # refused: nothing was made
    ledger.begin(KEY, "x", "INC-2026-0001", "post")
    assert ledger.first_body(KEY, "next update by 10:05") == "next update by 10:05"
