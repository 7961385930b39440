"""The context a message is rendered from is built from the incident as Redis holds it."""

from __future__ import annotations

from pathlib import Path

from conftest import SECRETS, load_fixture, post

from app import create_app
from app.messages.context import MessageEvent
from app.messages.render import render
from app.ruleset import load_ruleset
from app.settings import Settings
from workers.channels import CHANNELS, Channel
from workers.incident_context import build_context

ROOT = Path(__file__).parent.parent


def test_context_of_a_webhook_incident_renders_on_every_channel(app, client, clock) -> None:
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    klaxon = app.extensions["klaxon"]
    ruleset = load_ruleset(ROOT / "rules")
    ctx = build_context(
        klaxon.incidents,
        ruleset,
        incident_id,
        MessageEvent.DECLARED,
        "first notification",
        "https://klaxon.example.com",
        clock.now(),
    )
    assert ctx.incident["id"] == incident_id and ctx.incident["status"] == "investigating"
    assert ctx.alerts[0]["host"] == "web-03" and ctx.alerts[0]["source"] == "datadog"
    assert ctx.incident["severity"] == "SEV2"  # Datadog P2 via the built-in severity map
    assert ctx.policy["statuspage"]["impact"] == "major"
    summary = render(CHANNELS[Channel.PAGERDUTY], MessageEvent.DECLARED, ctx, ROOT / "templates")
    assert incident_id in summary.fields["summary"] or "checkout-api" in summary.fields["summary"]
    status = render(CHANNELS[Channel.STATUSPAGE], MessageEvent.DECLARED, ctx, ROOT / "templates")
    assert "web-03" not in " ".join(status.fields.values())  # hosts never reach the public


def test_context_of_an_unknown_incident_is_none(app, clock) -> None:
    klaxon = app.extensions["klaxon"]
    assert (
        build_context(
            klaxon.incidents,
            klaxon.ruleset,
            "INC-2026-9999",
            MessageEvent.DECLARED,
            "",
            "http://x",
            clock.now(),
        )
        is None
    )


def test_a_big_incident_is_read_in_two_round_trips_as_the_store_reads_it(
    settings, redis_client, clock, monkeypatch
) -> None:
    """Sixty alerts grouped into one incident: the job reads the incident and the first 50
    alerts (what a message can show) in two round trips, the count says 60, and what it reads
    is what IncidentStore reads."""
    import json

    from workers.incident_context import MAX_ALERTS_IN_CONTEXT

    app = create_app(
        settings.with_changes(rules_dir=ROOT / "rules"), connection=redis_client, clock=clock
    )
    fixture = load_fixture("datadog", "triggered")
    incidents = set()
    for n in range(60):  # same team, service and environment: one group
        body = fixture.json
        body["id"], body["alert"]["id"] = f"evt-{n}", f"mon-{n}"
        incidents.add(
            post(app.test_client(), fixture, body=json.dumps(body).encode()).get_json()["incident"]
        )
    [incident_id] = incidents
    store = app.extensions["klaxon"].incidents

    from redis.connection import AbstractConnection

    sent = []
    send = AbstractConnection.send_packed_command

    def counted(connection, command, check_health=True):
        if check_health:  # not redis-py's own health-check PING
            sent.append(command)
        return send(connection, command, check_health)

    store.load(incident_id, MAX_ALERTS_IN_CONTEXT)  # connected: HELLO and the like are not counted
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    loaded = store.load(incident_id, MAX_ALERTS_IN_CONTEXT)
    monkeypatch.undo()
    assert loaded is not None and len(sent) == 2
    assert loaded.incident == store.incident(incident_id)
    assert loaded.alert_count == 60
    assert loaded.alerts == store.incident_alerts(incident_id)[:MAX_ALERTS_IN_CONTEXT]
    ctx = build_context(
        store,
        load_ruleset(ROOT / "rules"),
        incident_id,
        MessageEvent.DECLARED,
        "",
        "http://x",
        clock.now(),
        loaded=loaded,
    )
    assert ctx.incident["alert_count"] == 60 and len(ctx.alerts) == MAX_ALERTS_IN_CONTEXT


ONE_TEAM_RULES = """teams:
  sre: {}
defaults: {team: sre, severity: SEV2, group_by: [team]}
statuspage:
  components:
    checkout-api: ftgks51sfs2d
    Checkout API: [7yhl8w0jp3k5, ftgks51sfs2d]
"""


def test_context_names_the_components_of_every_service_of_the_incident(
    tmp_path, redis_url, redis_client, clock
) -> None:
    (tmp_path / "rules.yml").write_text(ONE_TEAM_RULES)
    settings = Settings.from_env(
        {**SECRETS, "REDIS_URL": redis_url, "KLAXON_RULES_DIR": str(tmp_path)}
    )
    app = create_app(settings, connection=redis_client, clock=clock)
    client = app.test_client()
    first = post(client, load_fixture("datadog", "triggered")).get_json()  # checkout-api
    second = post(client, load_fixture("pagerduty", "incident_triggered")).get_json()
    assert first["incident"] == second["incident"]  # grouped by team
    klaxon = app.extensions["klaxon"]
    ctx = build_context(
        klaxon.incidents,
        klaxon.ruleset,
        first["incident"],
        MessageEvent.DECLARED,
        "",
        "http://x",
        clock.now(),
    )
    assert ctx.components == ("ftgks51sfs2d", "7yhl8w0jp3k5")  # the incident's service first


def test_context_of_services_the_rules_do_not_map_has_no_components(app, client, clock) -> None:
    incident_id = post(client, load_fixture("datadog", "triggered")).get_json()["incident"]
    klaxon = app.extensions["klaxon"]  # tests/data/rules/per-alert maps no component
    ctx = build_context(
        klaxon.incidents,
        klaxon.ruleset,
        incident_id,
        MessageEvent.DECLARED,
        "",
        "http://x",
        clock.now(),
    )
    assert ctx.components == ()


def test_components_count_every_alert_beyond_those_a_message_shows(
    tmp_path, redis_url, redis_client, clock
) -> None:
    """Sixty alerts of sixty services in one incident: the context shows 50 alerts, and the
    status-page components still come from all sixty services."""
    import json

    services = [f"svc-{n:02d}" for n in range(60)]
    (tmp_path / "rules.yml").write_text(
        "teams:\n  sre: {}\ndefaults: {team: sre, severity: SEV2, group_by: [team]}\n"
        "statuspage:\n  components:\n"
        + "".join(f"    {name}: {component(name)}\n" for name in services)
    )
    settings = Settings.from_env(
        {**SECRETS, "REDIS_URL": redis_url, "KLAXON_RULES_DIR": str(tmp_path)}
    )
    app = create_app(settings, connection=redis_client, clock=clock)
    fixture = load_fixture("datadog", "triggered")
    for n, service in enumerate(services):
        body = fixture.json
        body["id"], body["alert"]["id"] = f"evt-{n}", f"mon-{n}"
        body["tags"] = f"env:prod, service:{service}"
        incident = post(app.test_client(), fixture, body=json.dumps(body).encode()).get_json()
    klaxon = app.extensions["klaxon"]
    ctx = build_context(
        klaxon.incidents,
        klaxon.ruleset,
        incident["incident"],
        MessageEvent.DECLARED,
        "",
        "http://x",
        clock.now(),
    )
    assert len(ctx.alerts) == 50 and ctx.incident["alert_count"] == 60
    assert sorted(ctx.components) == [component(name) for name in services]
    assert ctx.components[0] == component("svc-00")  # the incident's own service first


def component(service: str) -> str:
    return f"cmp{service[-2:]}" + "x" * 7  # 12 characters, as Statuspage's ids are
