"""One incident told end to end through the HTTP interface, on the virtual clock: Datadog
alerts arrive, a responder acknowledges, status updates go out, another takes command, the
alert recovers and the incident is resolved. The post-mortem golden test, the page tests and
the browser tests all start from it, so they agree on what the data looks like."""

from __future__ import annotations

from conftest import SECRETS, load_fixture, post

AUTH = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
PEOPLE = ("Marco Bianchi", "Priya Raman")
EMAIL = "marco.bianchi@acme-payments.example"
HOSTS = ("web-03", "web-07")
IDENTIFIED = (
    "Connection pool exhausted on web-03 after the 08:55 deploy; Marco is rolling "
    f"back. Questions to {EMAIL}."
)
MONITORING = "The rollback is out and checkout error rates are back to normal; we are watching."
RESOLVED = "Checkout latency has been normal for 30 minutes."


def api(client, method: str, path: str, body: dict | None = None) -> dict:
    response = client.open(f"/api{path}", method=method, json=body, headers=AUTH)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def open_incident(client, clock) -> str:
    """A SEV2 checkout incident (Datadog P2 on web-03), re-triggered once."""
    incident = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    clock.advance(120)
    post(client, load_fixture("datadog", "retriggered_renotify"))
    return incident


def respond(client, clock, incident: str) -> None:
    """Acknowledged, identified (raised to SEV1), handed over, monitoring."""
    clock.advance(4 * 60)
    api(client, "POST", f"/incidents/{incident}/ack", {"by": PEOPLE[0]})
    clock.advance(9 * 60)
    api(
        client,
        "POST",
        f"/incidents/{incident}/updates",
        {"status": "identified", "message": IDENTIFIED, "by": PEOPLE[0], "severity": "SEV1"},
    )
    clock.advance(6 * 60)
    api(
        client,
        "POST",
        f"/incidents/{incident}/commander",
        {"commander": PEOPLE[1], "by": PEOPLE[0]},
    )
    clock.advance(11 * 60)
    api(
        client,
        "POST",
        f"/incidents/{incident}/updates",
        {"status": "monitoring", "message": MONITORING, "by": PEOPLE[1]},
    )


def resolve(client, clock, incident: str) -> None:
    clock.advance(20 * 60)
    post(client, load_fixture("datadog", "recovered"))
    clock.advance(10 * 60)
    api(
        client,
        "POST",
        f"/incidents/{incident}/updates",
        {"status": "resolved", "message": RESOLVED, "by": PEOPLE[1]},
    )


def full_story(client, clock) -> str:
    incident = open_incident(client, clock)
    respond(client, clock, incident)
    resolve(client, clock, incident)
    return incident
