"""The context a message is rendered from is built from the incident as Redis holds it."""

from __future__ import annotations

from pathlib import Path

from app.ruleset import load_ruleset
from conftest import load_fixture, post
from workers.context import MessageEvent
from workers.incident_context import build_context
from workers.render import render
from workers.notifiers import Channel

ROOT = Path(__file__).parent.parent


def test_context_of_a_webhook_incident_renders_on_every_channel(app, client, clock) -> None:
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    klaxon = app.extensions["klaxon"]
    ruleset = load_ruleset(ROOT / "rules")
    ctx = build_context(klaxon.incidents, ruleset, incident_id, MessageEvent.DECLARED,
                        "first notification", "https://klaxon.example.com", clock.now())
    assert ctx.incident["id"] == incident_id and ctx.incident["status"] == "investigating"
    assert ctx.alerts[0]["host"] == "web-03" and ctx.alerts[0]["source"] == "datadog"
    assert ctx.incident["severity"] == "SEV2"  # Datadog P2 via the built-in severity map
    assert ctx.policy["statuspage"]["impact"] == "major"
    summary = render(Channel.PAGERDUTY, MessageEvent.DECLARED, ctx, ROOT / "templates")
    assert incident_id in summary.fields["summary"] or "checkout-api" in summary.fields["summary"]
    status = render(Channel.STATUSPAGE, MessageEvent.DECLARED, ctx, ROOT / "templates")
    assert "web-03" not in " ".join(status.fields.values())  # hosts never reach the public


def test_context_of_an_unknown_incident_is_none(app, clock) -> None:
    klaxon = app.extensions["klaxon"]
    assert build_context(klaxon.incidents, klaxon.ruleset, "INC-2026-9999",
                         MessageEvent.DECLARED, "", "http://x", clock.now()) is None
