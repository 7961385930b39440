"""Property: whatever a signed-in client or a stranger sends to the API, the pages and sign-in,
Klaxon never answers 5xx, and a refused request writes nothing (sign-in may count a wrong
token, and nothing else). The API gets the right token so the handlers are reached; bodies
are valid requests mutated as in test_fuzz.py. Every route of the app must be listed here
(test_every_route_is_fuzzed), so a new endpoint is fuzzed from the day it exists.
Size: tests/fuzzing.py (KLAXON_FUZZ_EXAMPLES=5000 for a long run)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from conftest import SECRETS, load_fixture, post
from fuzzing import database, fuzz
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import _mutate, _serialise

TOKEN = SECRETS["KLAXON_API_TOKEN"]
ID = "<incident_id>"

# (method, rule, a valid JSON body or form to mutate)
API: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/incidents", None),
    ("GET", f"/api/incidents/{ID}", None),
    ("GET", f"/api/incidents/{ID}/timeline", None),
    ("GET", f"/api/incidents/{ID}/postmortem.md", None),
    (
        "POST",
        f"/api/incidents/{ID}/resolve",
        {"by": "Priya", "data_loss": "no", "customer_impact": "Slow", "follow_ups": ["Alert"]},
    ),
    (
        "POST",
        "/api/incidents",
        {"title": "Checkout down", "severity": "SEV2", "summary": "s", "service": "checkout-api"},
    ),
    ("POST", f"/api/incidents/{ID}/ack", {"by": "Priya"}),
    ("POST", f"/api/incidents/{ID}/commander", {"commander": "Priya", "by": "Marco"}),
    ("POST", f"/api/incidents/{ID}/severity", {"severity": "SEV1", "by": "Marco"}),
    ("POST", f"/api/incidents/{ID}/roles", {"role": "tech_lead", "name": "Ana", "by": "Marco"}),
    ("POST", f"/api/incidents/{ID}/merge", {"into": "INC-2026-0002", "by": "Marco"}),
    (
        "POST",
        f"/api/incidents/{ID}/updates",
        {"status": "identified", "message": "Rolled back", "severity": "SEV2", "by": "Priya"},
    ),
    ("POST", f"/api/incidents/{ID}/postmortem", {"status": "in_review", "url": "https://x.test"}),
    ("GET", "/api/maintenance", None),
    (
        "POST",
        "/api/maintenance",
        {"services": ["checkout-api"], "until": 1_900_000_000, "reason": "db upgrade"},
    ),
    ("DELETE", "/api/maintenance", {"by": "Priya"}),
    ("GET", "/api/outbox", None),
    ("GET", "/api/changes", None),
    (
        "POST",
        "/api/changes",
        {"service": "checkout", "version": "v52", "who": "ann", "rollback": "heroku rollback v51"},
    ),
    ("GET", "/metrics", None),  # the API token opens it too (KLAXON_METRICS_TOKEN unset here)
]
PAGES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/status", None),
    ("GET", "/status/feed.atom", None),
    ("GET", "/assets/klaxon.css", None),
    ("GET", "/static/<path:filename>", None),
    ("GET", "/healthz", None),
    ("GET", "/readyz", None),
    ("GET", "/metrics", None),
    ("GET", "/incidents", None),
    ("GET", f"/incidents/{ID}", None),
    ("GET", f"/incidents/{ID}/postmortem.md", None),
    ("GET", "/outbox", None),
    ("GET", "/failed", None),
    (
        "POST",
        f"/incidents/{ID}/updates",
        {"status": "monitoring", "message": "Recovering", "severity": "SEV3", "by": "Priya"},
    ),
    ("POST", f"/incidents/{ID}/ack", {"by": "Priya"}),
    ("POST", f"/incidents/{ID}/commander", {"commander": "Priya", "by": "Marco"}),
    ("POST", f"/incidents/{ID}/severity", {"severity": "SEV1", "by": "Marco"}),
    ("POST", f"/incidents/{ID}/roles", {"role": "comms_lead", "name": "Lee", "by": "Marco"}),
    ("POST", f"/incidents/{ID}/merge", {"into": "INC-2026-0002", "by": "Marco"}),
    (
        "POST",
        f"/incidents/{ID}/resolve",
        {"message": "Fixed", "data_loss": "no", "follow_ups": "Alert\nRunbook", "by": "Priya"},
    ),
    (
        "POST",
        "/incidents/declare",
        {"title": "Slow", "severity": "SEV2", "service": "x", "by": "P"},
    ),
    ("POST", "/logout", {}),
    # Status-page subscriptions (404 here: KLAXON_SUBSCRIBERS_SECRET is unset; with it set,
    # tests/test_subscribers.py fuzzes them).
    ("GET", "/status/subscribe", None),
    ("POST", "/status/subscribe", {"endpoint": "http://127.0.0.1:9/hook"}),
    ("GET", "/status/unsubscribe/<subscriber_id>/<token>", None),
    ("POST", "/status/unsubscribe/<subscriber_id>/<token>", {}),
    ("DELETE", "/status/unsubscribe/<subscriber_id>/<token>", None),
    *(
        ("GET", f"/api/v2/{name}.json", None)
        for name in (
            "summary",
            "status",
            "components",
            "incidents",
            "incidents/unresolved",
            "scheduled-maintenances",
            "scheduled-maintenances/upcoming",
            "scheduled-maintenances/active",
        )
    ),
]
LOGIN: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/login", None),
    ("POST", "/login", {"token": TOKEN}),
]
WEBHOOKS = ("POST", "/webhooks/<source_name>")  # tests/test_fuzz.py
# Slack's request URLs, signed with the test signing secret so the handlers are reached.
SLACK: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/slack/commands", {"text": "ic @zed", "user_id": "U0PAYBOB", "channel_id": "C0INC"}),
    ("POST", "/slack/interactions", {"payload": ""}),
    ("POST", "/slack/events", None),
]
SLACK_PAYLOADS = [
    {
        "type": "block_actions",
        "user": {"id": "U0PAYBOB"},
        "actions": [{"action_id": "klaxon_ack", "value": "INC-2026-0001"}],
    },
    {
        "type": "view_submission",
        "user": {"id": "U0PAYBOB"},
        "view": {
            "callback_id": "klaxon_update",
            "private_metadata": "INC-2026-0001",
            "state": {
                "values": {
                    "status": {"status_choice": {"selected_option": {"value": "identified"}}},
                    "message": {"message_text": {"value": "found"}},
                }
            },
        },
    },
    {
        "type": "event_callback",
        "event_id": "Ev1",
        "event": {
            "type": "reaction_added",
            "reaction": "pushpin",
            "user": "U0PAYBOB",
            "item": {"type": "message", "channel": "C0INC", "ts": "1.2"},
        },
    },
    {"type": "url_verification", "challenge": "abc"},
]
COMMAND_WORDS = [
    "declare Checkout down SEV1",
    "ack",
    "ic",
    "ic <@U0PLTCAROL|carol>",
    "role tech @ana",
    "role comms <@U0X>",
    "update identified found",
    "update",
    "sev SEV1",
    "resolve done",
    "status",
    "oncall",
    "oncall payments",
    "help",
    "ack INC-2026-0001",
]

text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(), max_size=20),  # controls included
    st.sampled_from(["", "0", "-1", "10000000000000000000000", "../..", "%00", "all", "open"]),
    st.sampled_from(["//evil.example", "/\t/evil.example", "javascript:alert(1)", "\\\\evil"]),
).map(lambda s: s.encode("utf-8", "replace").decode())  # no lone surrogate crosses HTTP
queries = st.dictionaries(
    st.sampled_from(["status", "limit", "incident", "channel", "next", "format"]) | text,
    text,
    max_size=3,
)


def ids(known: str) -> st.SearchStrategy[str]:
    return st.one_of(st.just(known), st.just("INC-2026-9999"), text)


def path_for(data, rule: str, known: str) -> str:
    if ID in rule:
        rule = rule.replace(ID, quote(data.draw(ids(known), label="id"), safe=""))
    for name in ("<subscriber_id>", "<token>"):
        rule = rule.replace(name, quote(data.draw(text, label=name), safe=""))
    if "<path:filename>" in rule:
        rule = rule.replace("<path:filename>", quote(data.draw(text, label="file"), safe="/"))
    return rule


def json_body(data, template: dict[str, Any] | None) -> bytes:
    if template is None:
        return data.draw(st.sampled_from([b"", b"{}", b"null"]), label="body")
    return _serialise(data, _mutate(data, json.loads(json.dumps(template))))


def form(data, template: dict[str, Any]) -> dict[str, str]:
    fields = {k: str(v) for k, v in template.items()}
    for name in data.draw(st.lists(st.sampled_from([*fields, "other"]), max_size=3)):
        if data.draw(st.booleans(), label="drop?"):
            fields.pop(name, None)
        else:
            fields[name] = data.draw(text, label=name)
    return fields


def an_incident(client, redis_client) -> str:
    """An incident the ids can name (made once; later examples find it)."""
    known = redis_client.zrange("klaxon:incidents", 0, 0)
    if known:
        return known[0].decode()
    return post(client, load_fixture("datadog", "triggered")).get_json()["incident"]


def csrf(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def check(response, refused_wrote: dict, before: dict, after: dict) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    if response.status_code >= 400:
        assert after == before, refused_wrote


def test_every_route_is_fuzzed(app) -> None:
    fuzzed = {(m, r) for m, r, _ in API + PAGES + LOGIN + SLACK} | {WEBHOOKS}
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, rule.rule) in fuzzed, f"{method} {rule.rule} is not fuzzed"


@pytest.mark.slow
@fuzz(200)
@given(data=st.data())
def test_api_with_the_token_never_answers_5xx(client, redis_client, data) -> None:
    known = an_incident(client, redis_client)
    method, rule, template = data.draw(st.sampled_from(API), label="route")
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": data.draw(
            st.sampled_from(["application/json", "text/plain", "application/json; charset=x"])
        ),
    }
    before = database(redis_client)

    response = client.open(
        path_for(data, rule, known),
        method=method,
        query_string=data.draw(queries, label="query"),
        data=json_body(data, template),
        headers=headers,
    )

    check(response, {"route": rule}, before, database(redis_client))
    if response.status_code >= 400:
        answer = response.get_json()
        assert answer["error"], answer


@pytest.fixture
def member(app):
    """A signed-in browser and its session's CSRF token."""
    browser = app.test_client()
    assert browser.post("/login", data={"token": TOKEN, "csrf_token": csrf(browser)}).status_code
    return browser, csrf(browser, "/incidents")


@pytest.mark.slow
@fuzz(80)
@given(data=st.data())
def test_pages_never_answer_5xx(app, member, redis_client, data) -> None:
    method, rule, template = data.draw(st.sampled_from(PAGES), label="route")
    # /logout ends the session it is sent in: a stranger's, so the member stays signed in.
    signed_in = rule != "/logout" and data.draw(st.booleans(), label="signed in?")
    client, token = member if signed_in else (app.test_client(), "")
    known = an_incident(client, redis_client)
    fields = form(data, template) if template is not None else {}
    if method == "POST" and data.draw(st.booleans(), label="right csrf?"):
        fields["csrf_token"] = token or csrf(client)
    before = database(redis_client)

    response = client.open(
        path_for(data, rule, known),
        method=method,
        query_string=data.draw(queries, label="query"),
        data=fields or None,
    )

    check(response, {"route": rule}, before, database(redis_client))
    if not signed_in and rule.startswith(("/incidents", "/outbox", "/failed")):
        assert response.status_code >= 300  # strangers are sent to sign in, never served


@pytest.mark.slow
@fuzz(100)
@given(data=st.data())
def test_login_never_answers_5xx_and_counts_only_wrong_tokens(client, redis_client, data) -> None:
    method, rule, template = data.draw(st.sampled_from(LOGIN), label="route")
    fields = form(data, template) if template is not None else {}
    if method == "POST" and data.draw(st.booleans(), label="right csrf?"):
        fields["csrf_token"] = csrf(client)
    before = _without_token_failures(database(redis_client))

    response = client.open(
        rule,
        method=method,
        query_string=data.draw(queries, label="query"),
        data=fields or None,
    )

    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    # A wrong token is counted against the address (app/store/token_failures.py); nothing else.
    assert _without_token_failures(database(redis_client)) == before
    location = response.headers.get("Location", "")
    assert not location.startswith("//") and "://" not in location.split("?")[0], location


@pytest.fixture
def slack_client(redis_url, redis_client, clock):
    from slack_requests import SLACK_ENV

    from app import create_app
    from app.settings import Settings

    rules = Path(__file__).parent.parent / "rules"
    settings = Settings.from_env(
        {**SECRETS, **SLACK_ENV, "REDIS_URL": redis_url, "KLAXON_RULES_DIR": str(rules)}
    )
    app = create_app(settings, connection=redis_client, clock=clock)
    return app.test_client()


@pytest.mark.slow
@fuzz(60)
@given(data=st.data())
def test_signed_slack_requests_never_answer_5xx(slack_client, redis_client, clock, data) -> None:
    """Whatever Slack (or someone holding the signing secret) sends: never a 5xx, and a refusal
    writes nothing but the memory of its signature (app/slack/replay.py)."""
    from slack_requests import signed_headers

    room = f"klaxon:incident:{an_incident(slack_client, redis_client)}"
    redis_client.hset(room, "slack_channel", "C0INC")
    method, rule, template = data.draw(st.sampled_from(SLACK), label="route")
    if rule == "/slack/events":
        payload = json.loads(json.dumps(data.draw(st.sampled_from(SLACK_PAYLOADS))))
        body = _serialise(data, _mutate(data, payload))
        content_type = "application/json"
    else:
        fields = form(data, template or {})
        if rule == "/slack/commands" and data.draw(st.booleans(), label="known words?"):
            fields["text"] = data.draw(st.sampled_from(COMMAND_WORDS)) + data.draw(text)
        if rule == "/slack/interactions" and "payload" in fields:
            payload = _mutate(
                data, json.loads(json.dumps(data.draw(st.sampled_from(SLACK_PAYLOADS))))
            )
            fields["payload"] = _serialise(data, payload).decode("utf-8", "replace")
        body = urlencode(fields).encode()
        content_type = "application/x-www-form-urlencoded"
    clock.advance(1)  # a new timestamp: each example is a new request, not a replay
    before = _without_slack_seen(database(redis_client))

    response = slack_client.post(
        rule, data=body, headers=signed_headers(body, int(clock.now())), content_type=content_type
    )

    check(response, {"route": rule}, before, _without_slack_seen(database(redis_client)))


def _without_slack_seen(picture: dict[bytes, Any]) -> dict[bytes, Any]:
    return {k: v for k, v in picture.items() if not k.startswith(b"klaxon:slack-seen:")}


def test_api_text_with_a_lone_surrogate_is_stored_or_refused_never_a_500(client) -> None:
    """Found by test_api_with_the_token_never_answers_5xx: the API read bodies with Flask's
    JSON, which keeps a lone surrogate that Redis' cjson then refused (500)."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    escaped = json.dumps({"title": "cut \ud83d", "severity": "SEV3"}).encode()
    answer = client.post("/api/incidents", data=escaped, headers=headers)
    assert answer.status_code == 201
    incident = client.get(f"/api/incidents/{answer.get_json()['incident']}", headers=headers)
    assert incident.get_json()["title"] == "cut"  # the surrogate removed (app/plaintext.py)
    raw = json.dumps({"title": "\ud83d", "severity": "SEV3"}, ensure_ascii=False)
    refused = client.post(
        "/api/incidents", data=raw.encode("utf-8", "surrogatepass"), headers=headers
    )
    assert refused.status_code == 400


def _without_token_failures(picture: dict[bytes, Any]) -> dict[bytes, Any]:
    return {k: v for k, v in picture.items() if not k.startswith(b"klaxon:token-failures:")}
