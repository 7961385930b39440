"""ETag / Last-Modified on the public status documents (the Atom feed and /api/v2): a poller's
conditional request is a 304 until something shown changes, and the 304 is decided without
reading any incident's timeline."""

from __future__ import annotations

import pytest
from incident_story import IDENTIFIED, api, full_story, open_incident
from test_status_api import settings  # noqa: F401  (the fixture: declared component, windows)

DOCUMENTS = [
    "/status/feed.atom",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
]


def timeline_reads(redis_client) -> int:
    return int(redis_client.info("commandstats").get("cmdstat_xrange", {}).get("calls", 0))


@pytest.mark.parametrize("path", DOCUMENTS)
def test_a_conditional_request_is_304_until_something_shown_changes(
    client, clock, redis_client, path
) -> None:
    incident = open_incident(client, clock)
    first = client.get(path)
    assert first.status_code == 200 and first.headers["ETag"] and first.headers["Last-Modified"]

    clock.advance(600)  # time passing changes nothing shown
    again = client.get(path)
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.get_data() == first.get_data()

    reads = timeline_reads(redis_client)
    cached = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert cached.status_code == 304 and cached.get_data() == b""
    assert cached.headers["ETag"] == first.headers["ETag"]
    since = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    assert timeline_reads(redis_client) == reads  # decided without building the document

    clock.advance(60)
    api(
        client,
        "POST",
        f"/incidents/{incident}/updates",
        {"status": "identified", "message": IDENTIFIED, "by": "Marco Bianchi"},
    )
    changed = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    later = client.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert later.status_code == 200
    assert later.headers["Last-Modified"] != first.headers["Last-Modified"]


@pytest.mark.parametrize("path", ["/status/feed.atom", "/api/v2/incidents.json"])
def test_an_incident_leaving_the_history_is_a_change(client, clock, path) -> None:
    full_story(client, clock)
    etag = client.get(path).headers["ETag"]
    clock.advance(15 * 24 * 3600)
    response = client.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 200 and "INC-2026-0001" not in response.get_data(as_text=True)


def test_a_maintenance_window_starting_is_a_change(client, clock) -> None:
    path = "/api/v2/scheduled-maintenances/active.json"
    etag = client.get(path).headers["ETag"]
    clock.advance(3.5 * 3600)  # the rules' checkout window starts at 12:00
    response = client.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.get_json()["scheduled_maintenances"]


def test_an_old_or_foreign_etag_gets_the_document(client) -> None:
    response = client.get("/api/v2/summary.json", headers={"If-None-Match": '"nope"'})
    assert response.status_code == 200 and response.get_json()["page"]
