"""The pages through Flask's client: the public status page and feed show only public words,
the internal pages need sign-in, forms need their CSRF token, and a bad update is refused
with a clear 400 that changes nothing."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import SECRETS, load_fixture, post
from incident_story import (
    AUTH,
    EMAIL,
    HOSTS,
    IDENTIFIED,
    MONITORING,
    PEOPLE,
    RESOLVED,
    api,
    full_story,
    open_incident,
    respond,
)
from webhook_helpers import keyspace

TOKEN = SECRETS["KLAXON_API_TOKEN"]
ATOM = "{http://www.w3.org/2005/Atom}"
INTERNAL = [
    "/incidents",
    "/incidents/INC-2026-0001",
    "/incidents/INC-2026-0001/postmortem.md",
    "/outbox",
    "/failed",
]


def csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client) -> None:
    response = client.post("/login", data={"token": TOKEN, "csrf_token": csrf(client, "/login")})
    assert response.status_code == 303


def resolution_shown(status_page: str) -> list[str]:
    """The resolution text of each incident in the status page's history, newest first."""
    return [html.unescape(t) for t in re.findall(r'<p class="resolution">(.*?)</p>', status_page)]


def leaks(text: str) -> list[str]:
    internal = [
        *HOSTS,
        *PEOPLE,
        "Marco",
        "Priya",
        EMAIL,
        "acme-payments.example",
        "ALR-",
        "p99 latency high",
        "[prod]",
        "datadog",
        "sre",
    ]
    return [word for word in internal if word in text]


@pytest.fixture
def settings(settings, tmp_path):
    """The per-alert rules, and checkout-api declared a public component: only declared
    services name components on the status page."""
    rules = (settings.rules_dir / "rules.yml").read_text()
    (tmp_path / "rules.yml").write_text(
        rules + "statuspage:\n  components:\n    checkout-api: ftgks51sfs2d\n"
    )
    return settings.with_changes(rules_dir=tmp_path)


@pytest.fixture
def story(client, clock) -> str:
    incident = open_incident(client, clock)
    respond(client, clock, incident)
    return incident


# -- public -------------------------------------------------------------------------------


def test_status_page_with_nothing_open_says_all_is_well(client) -> None:
    response = client.get("/status")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "All systems operational" in text and "No incidents in the last 14 days." in text


def test_status_page_shows_the_incident_in_public_words(client, story) -> None:
    text = client.get("/status").get_data(as_text=True)
    assert '<h2 id="overall-title"><span class="dot" aria-hidden="true"></span>Major outage' in text
    assert "Major outage: Checkout API" in text
    assert MONITORING in text
    assert (
        "Connection pool exhausted on [redacted] after the 08:55 deploy; [redacted] is "
        "rolling back. Questions to [redacted]." in text
    )
    assert leaks(text) == []


def test_sev3_incidents_stay_off_the_status_page(client) -> None:
    post(client, load_fixture("datadog", "warn"))  # P2 -> SEV2 by the map; downgrade it:
    api(
        client,
        "POST",
        "/incidents/INC-2026-0001/updates",
        {"status": "investigating", "message": "Minor", "severity": "SEV3"},
    )
    text = client.get("/status").get_data(as_text=True)
    assert "All systems operational" in text and "Minor" not in text


def test_resolved_incidents_are_history_for_14_days(client, clock) -> None:
    full_story(client, clock)
    text = client.get("/status").get_data(as_text=True)
    assert "All systems operational" in text and "Past 14 days" in text
    assert "Major outage: Checkout API" in text and "Resolved" in text and leaks(text) == []
    clock.advance(15 * 24 * 3600)
    assert "Major outage: Checkout API" not in client.get("/status").get_data(as_text=True)


def test_resolved_incidents_show_their_resolution_text(client, clock) -> None:
    full_story(client, clock)
    text = client.get("/status").get_data(as_text=True)
    assert resolution_shown(text) == [RESOLVED]


def test_resolved_without_a_resolution_update_says_resolved_not_monitoring(client, clock) -> None:
    incident = open_incident(client, clock)
    respond(client, clock, incident)  # its last update is "Monitoring"
    api(client, "POST", f"/incidents/{incident}/resolve", {"by": PEOPLE[1]})
    text = client.get("/status").get_data(as_text=True)
    assert resolution_shown(text) == ["This incident has been resolved."]
    assert MONITORING in text  # among the earlier updates, not as the resolution


def test_history_is_newest_first_by_when_incidents_ended(client, clock) -> None:
    first = open_incident(client, clock)  # opened first, resolved last
    clock.advance(60)
    second = api(
        client,
        "POST",
        "/incidents",
        {"title": "Search down", "severity": "SEV1", "service": "search-api"},
    )["incident"]
    clock.advance(60)
    api(client, "POST", f"/incidents/{second}/resolve", {})
    clock.advance(60)
    api(client, "POST", f"/incidents/{first}/resolve", {})
    text = client.get("/status").get_data(as_text=True)
    history = text[text.index("Past 14 days") :]
    assert history.index(f'id="{first}"') < history.index(f'id="{second}"')


def test_the_status_page_refreshes_itself_when_asked_without_a_script(client) -> None:
    text = client.get("/status").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in text and "<script" not in text  # never unasked
    assert 'href="/status?refresh=on">Refresh every minute</a>' in text
    text = client.get("/status?refresh=on").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="60">' in text and "<script" not in text
    assert 'href="/status">Stop refreshing</a>' in text


def test_the_status_page_is_named_by_configuration(app, client, clock) -> None:
    app.extensions["klaxon"].settings = app.extensions["klaxon"].settings.with_changes(
        status_title="Acme status"
    )
    page = client.get("/status").get_data(as_text=True)
    assert "<title>Acme status</title>" in page and ">Acme status</a>" in page
    assert "Service status" not in page
    feed = ET.fromstring(client.get("/status/feed.atom").get_data())
    assert feed.find(f"{ATOM}title").text == "Acme status: incidents"
    assert feed.find(f"{ATOM}author/{ATOM}name").text == "Acme status"


def test_maintenance_in_force_is_shown_without_who_started_it(client) -> None:
    api(
        client,
        "POST",
        "/maintenance",
        {
            "reason": "Database upgrade on db-01 (ask Priya Raman)",
            "by": "Priya Raman",
            "services": ["checkout-api"],
        },
    )
    text = client.get("/status").get_data(as_text=True)
    assert "Maintenance in progress" in text and "Affects Checkout API." in text
    assert "Database upgrade on [redacted] (ask [redacted])" in text and leaks(text) == []


def test_feed_is_valid_atom_with_an_entry_per_public_incident(client, story) -> None:
    response = client.get("/status/feed.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{name}") is not None, name
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.findtext(f"{ATOM}id").endswith(":incident:INC-2026-0001")
    assert entry.findtext(f"{ATOM}title") == "Major outage: Checkout API (Monitoring)"
    assert entry.findtext(f"{ATOM}updated") == "2026-03-14T09:32:00Z"
    content = ET.tostring(entry.find(f"{ATOM}content"), encoding="unicode")
    assert MONITORING in content and leaks(response.get_data(as_text=True)) == []


def test_stylesheet_and_security_headers(client) -> None:
    css = client.get("/assets/klaxon.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    status = client.get("/status")
    assert "script-src" not in status.headers["Content-Security-Policy"]
    assert "default-src 'none'" in status.headers["Content-Security-Policy"]


# -- sign-in --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", INTERNAL)
def test_internal_pages_send_strangers_to_sign_in(client, story, path) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=")
    assert "Marco" not in response.get_data(as_text=True)


def test_a_wrong_token_does_not_sign_in(client) -> None:
    response = client.post("/login", data={"token": "guess", "csrf_token": csrf(client, "/login")})
    assert response.status_code == 401 and "That token is not" in response.get_data(as_text=True)
    assert client.get("/incidents").status_code == 303


def test_sign_in_needs_the_forms_csrf_token(client) -> None:
    client.get("/login")
    response = client.post("/login", data={"token": TOKEN})
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    assert client.get("/incidents").status_code == 303


def test_basic_auth_with_the_token_as_password_works(client, story) -> None:
    import base64

    good = base64.b64encode(f"me:{TOKEN}".encode()).decode()
    bad = base64.b64encode(b"me:nope").decode()
    assert client.get("/incidents", headers={"Authorization": f"Basic {good}"}).status_code == 200
    assert client.get("/incidents", headers={"Authorization": f"Basic {bad}"}).status_code == 401


def test_sign_in_goes_back_only_to_our_own_pages(client) -> None:
    token = csrf(client, "/login")
    response = client.post(
        "/login?next=//evil.example/x", data={"token": TOKEN, "csrf_token": token}
    )
    assert response.headers["Location"] == "/incidents"


def test_sign_out_ends_the_session(client) -> None:
    sign_in(client)
    token = csrf(client, "/incidents")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/incidents").status_code == 303


# -- internal pages ------------------------------------------------------------------------


def test_incident_list_links_to_each_incident(client, story) -> None:
    sign_in(client)
    text = client.get("/incidents").get_data(as_text=True)
    assert f'href="/incidents/{story}"' in text and "[prod] checkout-api p99 latency high" in text


def test_incident_page_shows_alerts_timeline_and_the_draft_link(client, story) -> None:
    sign_in(client)
    response = client.get(f"/incidents/{story}")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "web-03" in text and IDENTIFIED.replace("'", "&#39;") in text
    assert f'href="/incidents/{story}/postmortem.md"' in text
    draft = client.get(f"/incidents/{story}/postmortem.md")
    assert draft.mimetype == "text/markdown" and "# Post-mortem:" in draft.get_data(as_text=True)


def test_unknown_incident_is_a_404_page(client) -> None:
    sign_in(client)
    response = client.get("/incidents/INC-2026-9999")
    assert response.status_code == 404 and "There is no incident" in response.get_data(as_text=True)


def test_the_form_posts_a_status_update_like_the_api(client, story) -> None:
    sign_in(client)
    token = csrf(client, f"/incidents/{story}")
    response = client.post(
        f"/incidents/{story}/updates",
        data={
            "csrf_token": token,
            "status": "monitoring",
            "message": "Watching the error rate.",
            "severity": "SEV2",
            "by": "Priya Raman",
        },
    )
    assert response.status_code == 303
    incident = client.get(f"/api/incidents/{story}", headers=AUTH).get_json()
    assert (incident["status"], incident["severity"]) == ("monitoring", "SEV2")
    last = incident["timeline"][-1]
    assert last["kind"] == "status_update" and last["data"] == {
        "status": "monitoring",
        "message": "Watching the error rate.",
        "by": "Priya Raman",
    }
    assert "Status update posted." in client.get(f"/incidents/{story}").get_data(as_text=True)
    assert "Watching the error rate." in client.get("/status").get_data(as_text=True)


@pytest.mark.parametrize(
    "form, problem",
    [
        ({"status": "fixed", "message": "x"}, "Status must be one of investigating, identified"),
        ({"status": "identified", "message": "  "}, "Message is required."),
        ({"status": "identified", "message": "x", "severity": "SEV9"}, "Severity must be one of"),
        (
            {"status": "identified", "message": "x" * 5001},
            "Message must be at most 5000 characters",
        ),
        (
            {"status": "identified", "message": "x", "by": "y" * 101},
            "Your name must be at most 100",
        ),
    ],
)
def test_bad_updates_are_a_clear_400_that_changes_nothing(
    client, story, redis_client, form, problem
) -> None:
    sign_in(client)
    token = csrf(client, f"/incidents/{story}")
    before = keyspace(redis_client)
    response = client.post(f"/incidents/{story}/updates", data={"csrf_token": token, **form})
    assert response.status_code == 400
    assert problem in response.get_data(as_text=True)
    assert keyspace(redis_client) == before


def test_an_update_without_the_csrf_token_changes_nothing(client, story, redis_client) -> None:
    sign_in(client)
    before = keyspace(redis_client)
    response = client.post(
        f"/incidents/{story}/updates",
        data={"status": "monitoring", "message": "forged", "csrf_token": "x"},
    )
    assert response.status_code == 400 and keyspace(redis_client) == before


def test_a_resolved_incident_takes_no_more_updates(client, clock) -> None:
    incident = full_story(client, clock)
    sign_in(client)
    page = client.get(f"/incidents/{incident}").get_data(as_text=True)
    assert "Post a status update" not in page
    token = csrf(client, "/incidents")
    response = client.post(
        f"/incidents/{incident}/updates",
        data={"csrf_token": token, "status": "monitoring", "message": "x"},
    )
    assert response.status_code == 409


def test_outbox_page_lists_messages(client, app) -> None:
    app.extensions["klaxon"].outbox.add(
        {
            "channel": "statuspage",
            "action": "create",
            "incident_id": "INC-2026-0001",
            "event": "declared",
            "idempotency_key": "k",
            "body": {"name": "Partial <b>", "body": "We're looking into it. Café"},
        }
    )
    sign_in(client)
    text = client.get("/outbox").get_data(as_text=True)
    assert "statuspage" in text and "<b>" not in text and "Partial &lt;b&gt;" in text
    # Shown as written (escaped for HTML, which the browser undoes), not as JSON escapes.
    assert "We're looking into it. Café" in html.unescape(text)
    assert "\\u0027" not in text and "\\u00e9" not in text


def test_failed_jobs_page_lists_jobs_that_gave_up(client, redis_client) -> None:
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    from app.queue_names import NOTIFY_QUEUE

    secret = "R0utingKeyAbcdefghijklmnopqrstuvwxyz0123"
    queue = Queue(NOTIFY_QUEUE, connection=redis_client, serializer=JSONSerializer)
    queue.enqueue("jobs_for_tests.fail_with_secret", secret, job_id="notify-statuspage-1")
    SimpleWorker([queue], connection=redis_client, serializer=JSONSerializer).work(burst=True)
    sign_in(client)
    text = client.get("/failed").get_data(as_text=True)
    assert "notify-statuspage-1" in text and "jobs_for_tests.fail_with_secret" in text
    assert "RuntimeError: vendor refused routing_key=[redacted]" in text
    assert secret not in text
