"""One outage, one public incident (issue 13): incidents open at once on the same public
component are linked, the later a child of the earlier, automatically when the later one is
declared and by hand (POST /api/incidents/<id>/merge, and the incident page's form, one code
path: app/actions.py). End to end: fixture webhooks through the Flask app, the declare timer on
the virtual clock, an RQ SimpleWorker on a real Redis, PagerDuty and Statuspage loopback fakes."""

from __future__ import annotations

import json

import pytest
from conftest import SECRETS, load_fixture, post
from fakes import FakeStatuspage
from fakes.environment import vendor_environment
from test_pages import csrf, sign_in
from test_statuspage_components_e2e import CHECKOUT, PAGE, run_worker

from app import create_app
from app.settings import Settings
from workers import jobs
from workers.ticker import tick

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}


@pytest.fixture
def page():
    with FakeStatuspage(components=PAGE) as fake:
        yield fake
    jobs.forget_runtime()


@pytest.fixture
def app(monkeypatch, redis_url, redis_client, clock, page, fake_pagerduty):
    env = vendor_environment(SECRETS, redis_url, statuspage=page, pagerduty=fake_pagerduty)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    jobs.forget_runtime()
    clock.set(1773479640.0)  # Saturday 2026-03-14 09:14 UTC, the fixtures' story
    return create_app(Settings.from_env(), connection=redis_client, clock=clock)


def declared_after_group_wait(app, redis_client, clock) -> None:
    clock.advance(61)
    tick(redis_client, clock, app.extensions["klaxon"].incidents)
    run_worker(redis_client)


def checkout_api_outage(app) -> str:
    """Datadog's checkout-api latency alert: SEV2, PagerDuty and the Checkout component."""
    return post(app.test_client(), load_fixture("datadog", "triggered")).get_json()["incident"]


def checkout_workers_outage(app) -> str:
    """A Datadog monitor on checkout-workers: another service (another group key), but the
    Checkout component too; SEV2, so on its own it would page and open a public incident."""
    return datadog_outage(app, "workers-outage", "checkout-workers")


def datadog_outage(app, delivery: str, service: str) -> str:
    body = json.loads(load_fixture("datadog", "triggered").body)
    body["id"] = body["alert"]["id"] = delivery
    body["tags"] = body["tags"].replace("service:checkout-api", f"service:{service}")
    for holder in (body, body["alert"]):
        holder["title"] = holder["title"].replace("checkout-api", service)
    fixture = load_fixture("datadog", "triggered")
    return post(app.test_client(), fixture, body=json.dumps(body).encode()).get_json()["incident"]


def search_outage(app) -> str:
    """A SEV2 on search-api (the Search component: nothing shared with checkout)."""
    return datadog_outage(app, "search-outage", "search-api")


def triggers(fake_pagerduty) -> list[str]:
    return [
        r.json["dedup_key"] for r in fake_pagerduty.requests if r.json["event_action"] == "trigger"
    ]


def creates(page) -> list[str]:
    return [
        r.json["incident"]["metadata"]["klaxon"]["incident"]
        for r in page.requests
        if r.method == "POST"
    ]


def test_a_second_incident_on_the_same_component_is_merged_and_tells_nobody_twice(
    app, redis_client, clock, page, fake_pagerduty
) -> None:
    first = checkout_api_outage(app)
    declared_after_group_wait(app, redis_client, clock)
    second = checkout_workers_outage(app)
    assert second != first  # another service: another group key
    declared_after_group_wait(app, redis_client, clock)

    client = app.test_client()
    child = client.get(f"/api/incidents/{second}", headers=AUTH).get_json()
    parent = client.get(f"/api/incidents/{first}", headers=AUTH).get_json()
    assert child["merged_into"] == first
    [shown] = parent["children"]
    assert shown["id"] == second and [a["alert"]["service"] for a in shown["alerts"]] == [
        "checkout-workers"
    ]
    assert any(e["kind"] == "child_merged" for e in parent["timeline"])
    assert triggers(fake_pagerduty) == [first]  # one page
    assert creates(page) == [first]  # one Statuspage incident
    summary = client.get("/api/v2/summary.json").get_json()
    assert len(summary["incidents"]) == 1  # one status card
    assert page.component_statuses()[CHECKOUT] == "partial_outage"


def test_incidents_on_other_components_stay_apart(
    app, redis_client, clock, page, fake_pagerduty
) -> None:
    first = checkout_api_outage(app)
    declared_after_group_wait(app, redis_client, clock)
    other = search_outage(app)
    declared_after_group_wait(app, redis_client, clock)
    detail = app.test_client().get(f"/api/incidents/{other}", headers=AUTH).get_json()
    assert not detail.get("merged_into")
    assert sorted(creates(page)) == sorted([first, other])


def test_merge_by_hand_through_the_api(app, redis_client, clock, fake_pagerduty) -> None:
    client = app.test_client()
    first = checkout_api_outage(app)
    other = search_outage(app)
    declared_after_group_wait(app, redis_client, clock)
    url = f"/api/incidents/{other}/merge"
    assert client.post(url, json={"into": first}).status_code == 401
    assert client.post(url, headers=AUTH, json={}).status_code == 400
    assert client.post(url, headers=AUTH, json={"into": "nonsense"}).status_code == 400
    assert client.post(url, headers=AUTH, json={"into": "INC-2026-9999"}).status_code == 400
    assert client.post(url, headers=AUTH, json={"into": other}).status_code == 409
    assert client.get(f"/api/incidents/{other}", headers=AUTH).get_json().get("merged_into") is None

    merged = client.post(url, headers=AUTH, json={"into": first, "by": "Marco"})
    assert merged.status_code == 200 and merged.get_json()["merged_into"] == first
    again = client.post(url, headers=AUTH, json={"into": first})
    assert again.get_json()["result"] == "unchanged"
    # the parent cannot now be merged into its child: children do not nest
    back = client.post(f"/api/incidents/{first}/merge", headers=AUTH, json={"into": other})
    assert back.status_code == 409

    # A merged child pages no more: raising its severity tells nobody.
    pages_before = len(triggers(fake_pagerduty))
    raised = client.post(
        f"/api/incidents/{other}/severity", headers=AUTH, json={"severity": "SEV1", "by": "Ana"}
    )
    assert raised.status_code == 200
    run_worker(redis_client)
    assert len(triggers(fake_pagerduty)) == pages_before


def test_merge_by_hand_on_the_incident_page(app, redis_client, clock) -> None:
    client = app.test_client()
    first = checkout_api_outage(app)
    other = search_outage(app)
    sign_in(client)
    token = csrf(client, f"/incidents/{other}")
    refused = client.post(
        f"/incidents/{other}/merge", data={"csrf_token": token, "into": "INC-2026-9999"}
    )
    assert refused.status_code == 400 and "Not merged" in refused.get_data(as_text=True)
    done = client.post(f"/incidents/{other}/merge", data={"csrf_token": token, "into": first})
    assert done.status_code == 303
    parent_page = client.get(f"/incidents/{first}").get_data(as_text=True)
    assert f'href="/incidents/{other}"' in parent_page and "search-api" in parent_page
    assert "Merged into" in client.get(f"/incidents/{other}").get_data(as_text=True)


def test_a_child_still_open_when_its_parent_resolves_speaks_for_itself(
    app, redis_client, clock, page, fake_pagerduty
) -> None:
    """The parent's outage is over but the child's alerts still fire: it must not stay silent.
    It is unmerged and declared on its own (its first page and public incident)."""
    first = checkout_api_outage(app)
    declared_after_group_wait(app, redis_client, clock)
    second = checkout_workers_outage(app)
    declared_after_group_wait(app, redis_client, clock)
    client = app.test_client()
    assert client.get(f"/api/incidents/{second}", headers=AUTH).get_json()["merged_into"] == first
    assert triggers(fake_pagerduty) == [first]

    resolved = client.post(f"/api/incidents/{first}/resolve", headers=AUTH, json={"by": "Marco"})
    assert resolved.status_code == 200
    run_worker(redis_client)

    child = client.get(f"/api/incidents/{second}", headers=AUTH).get_json()
    assert "merged_into" not in child and child["status"] != "resolved"
    assert any(e["kind"] == "unmerged" for e in child["timeline"])
    assert creates(page) == [first, second]  # now its own public incident
    assert triggers(fake_pagerduty) == [first, second]  # and its own page
    parent = client.get(f"/api/incidents/{first}", headers=AUTH).get_json()
    assert parent["children"] == []
