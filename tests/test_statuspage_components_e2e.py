"""The status page's components follow the incident (issue #4), end to end: fixture webhooks
through the Flask app, the declare timer on the virtual clock, an RQ SimpleWorker running the
notify jobs against a real Redis, and the real Statuspage sender talking to a loopback fake
that knows the page's components and refuses any other, as Statuspage does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SECRETS, load_fixture, post
from fakes import FakeStatuspage
from fakes.environment import vendor_environment
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from webhook_helpers import signed_for

from app import create_app
from app.ruleset import load_ruleset
from app.settings import Settings
from workers import jobs
from workers.queues import queues
from workers.ticker import tick

ROOT = Path(__file__).parent.parent
AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
CHECKOUT = "ftgks51sfs2d"  # rules/statuspage.yml: checkout-api and PagerDuty's "Checkout API"
# The example company's page, as GET /v1/pages/<page_id>/components would list it.
PAGE = {
    CHECKOUT: "Checkout",
    "7yhl8w0jp3k5": "Order confirmation emails",
    "b4xq9m2kd7ns": "Payments",
    "r8t2vz6c0wqe": "Search",
    "k3d9w1fz5ymb": "Reports",
    "m5n0p3c8hj1a": "Website",
}


def start(monkeypatch, redis_url, redis_client, clock, statuspage: FakeStatuspage):
    for name, value in vendor_environment(SECRETS, redis_url, statuspage=statuspage).items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    clock.set(1773479640.0)  # Saturday 2026-03-14 09:14 UTC, the fixtures' story
    return create_app(Settings.from_env(), connection=redis_client, clock=clock)


@pytest.fixture
def page():
    with FakeStatuspage(components=PAGE) as fake:
        yield fake
    jobs.forget_runtime()


def run_worker(redis_client) -> None:
    SimpleWorker(queues(redis_client), connection=redis_client, serializer=JSONSerializer).work(
        burst=True
    )


def declare(app, redis_client, clock) -> str:
    """Datadog's checkout-api latency alert (SEV2), declared once group_wait is over."""
    incident = post(app.test_client(), load_fixture("datadog", "triggered")).get_json()["incident"]
    clock.advance(61)
    assert [t.kind for t in tick(redis_client, clock, app.extensions["klaxon"].incidents)] == [
        "declare"
    ]
    run_worker(redis_client)
    return incident


def sent_components(fake: FakeStatuspage) -> list[dict[str, str] | None]:
    return [r.json["incident"].get("components") for r in fake.requests if r.method != "GET"]


def test_components_follow_the_severity_and_are_operational_after_resolution(
    monkeypatch, redis_url, redis_client, clock, page
) -> None:
    app = start(monkeypatch, redis_url, redis_client, clock, page)
    client = app.test_client()
    incident = declare(app, redis_client, clock)
    [create] = page.requests
    assert create.json["incident"]["component_ids"] == [CHECKOUT]
    assert page.component_statuses()[CHECKOUT] == "partial_outage"  # SEV2's policy
    assert set(page.component_statuses().values()) == {"partial_outage", "operational"}

    # A fatal Sentry error on checkout-api joins and raises the incident to SEV1.
    fixture = load_fixture("sentry", "event_alert_triggered")
    body = fixture.body.replace(b'"level":"error"', b'"level":"fatal"')
    assert body != fixture.body
    raised = post(client, fixture, body=body, headers=signed_for(fixture, body)[0]).get_json()
    assert (raised["outcome"], raised["incident"]) == ("grouped", incident)
    run_worker(redis_client)
    assert page.component_statuses()[CHECKOUT] == "major_outage"

    client.post(
        f"/api/incidents/{incident}/updates",
        headers=AUTH,
        json={"status": "identified", "message": "A bad deploy; rolling back", "by": "Marco"},
    )
    run_worker(redis_client)
    assert page.component_statuses()[CHECKOUT] == "major_outage"  # still SEV1
    client.post(
        f"/api/incidents/{incident}/updates",
        headers=AUTH,
        json={"status": "resolved", "message": "Latency is back to normal", "by": "Marco"},
    )
    run_worker(redis_client)

    assert sent_components(page) == [
        {CHECKOUT: "partial_outage"},
        {CHECKOUT: "major_outage"},
        {CHECKOUT: "major_outage"},
        {CHECKOUT: "operational"},
    ]
    assert set(page.component_statuses().values()) == {"operational"}
    [made] = page.incidents.values()
    assert made["status"] == "resolved"
    assert made["incident_updates"][0]["affected_components"] == [
        {"code": CHECKOUT, "new_status": "operational"}
    ]


def test_a_component_the_page_does_not_have_is_left_out_and_the_timeline_says_so(
    monkeypatch, redis_url, redis_client, clock
) -> None:
    # The rules still name the checkout component, which was deleted from the page.
    others = {cid: name for cid, name in PAGE.items() if cid != CHECKOUT}
    with FakeStatuspage(components=others) as fake:
        app = start(monkeypatch, redis_url, redis_client, clock, fake)
        incident = declare(app, redis_client, clock)
    jobs.forget_runtime()

    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.requests] == [
        ("POST", "incidents"),
        ("GET", "components"),
        ("POST", "incidents"),
    ]
    assert [a.status for a in fake.answers] == [422, 200, 201]
    assert "components" not in fake.requests[-1].json["incident"]
    [made] = fake.incidents.values()  # the incident is public anyway
    assert made["status"] == "investigating" and made["components"] == []
    timeline = (
        app.test_client()
        .get(f"/api/incidents/{incident}/timeline", headers=AUTH)
        .get_json()["timeline"]
    )
    [notified] = [
        e["text"]
        for e in timeline
        if e["kind"] == "notified" and e["text"].startswith("statuspage")
    ]
    assert notified.startswith("statuspage create for declared (")
    assert notified.endswith(
        f"the Statuspage page has no component {CHECKOUT}, so it was sent "
        "without it: correct statuspage.components in the rules"
    )


def test_a_rules_change_during_the_incident_still_releases_the_first_component(
    monkeypatch, redis_url, redis_client, clock, page, tmp_path
) -> None:
    app = start(monkeypatch, redis_url, redis_client, clock, page)
    incident = declare(app, redis_client, clock)
    assert page.component_statuses()[CHECKOUT] == "partial_outage"

    # A merged pull request maps checkout-api to another component while the incident is open.
    shutil.copytree(ROOT / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("tests"))
    mapping = tmp_path / "rules" / "statuspage.yml"
    mapping.write_text(
        mapping.read_text().replace("checkout-api: ftgks51sfs2d", "checkout-api: 7yhl8w0jp3k5")
    )
    rt = jobs.Runtime(Settings.from_env(), redis_client, load_ruleset(tmp_path / "rules"))
    with jobs.running_with(rt):
        app.test_client().post(
            f"/api/incidents/{incident}/updates",
            headers=AUTH,
            json={"status": "resolved", "message": "Latency is back to normal", "by": "Marco"},
        )
        run_worker(redis_client)

    resolve = page.requests[-1].json["incident"]
    assert resolve["status"] == "resolved"
    assert resolve["components"] == {"7yhl8w0jp3k5": "operational", CHECKOUT: "operational"}
    assert set(page.component_statuses().values()) == {"operational"}
