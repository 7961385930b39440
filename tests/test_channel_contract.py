"""What every outbound channel must be, run for each entry of CHANNELS: a new channel is one
module in workers/channels/, one line in CHANNELS and its templates in templates/<name>/, and
passes these tests without a line of them changing. Pure: no Redis, no HTTP (sending through
each vendor's fake is tests/notifiers/test_contract.py; the ledger around it,
test_notify_e2e.py and test_worker_crash.py)."""

from __future__ import annotations

import pkgutil
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import workers.channels
from app.messages.context import MessageEvent
from app.messages.fixtures import payments_outage
from app.messages.render import check_templates, has_message, render
from app.ruleset import load_ruleset
from app.ruleset.model import Team
from app.settings import Settings
from workers.channels import (
    CHANNELS,
    Channel,
    Notifier,
    Occasion,
    OutboundMessage,
    Receipt,
    wanted,
)

ROOT = Path(__file__).parent.parent
TEMPLATES = ROOT / "templates"
APP_TEMPLATE_FOLDERS = {"web", "postmortem"}  # the web app's own, not a channel's
# A team every channel can reach (a pager, an Opsgenie team) and an Opsgenie-free sibling.
TEAM = Team("payments", routing_key_env="PD_ROUTING_KEY_PAYMENTS", opsgenie_team="payments")
TEAMS = {TEAM.name: TEAM}
# The SEV1 story: it pages, goes to the status page and to X, and every event has a story.
STORY = (
    MessageEvent.DECLARED,
    MessageEvent.SEVERITY_RAISED,
    MessageEvent.UPDATE_POSTED,
    MessageEvent.ACKNOWLEDGED,
    MessageEvent.ESCALATED,
    MessageEvent.REMINDER,
    MessageEvent.RESOLVED,
)
QUIET_POLICY = {
    "page": "never",
    "statuspage": {"impact": "none", "component_status": "operational"},
    "x_post": False,
    "update_every_seconds": None,
    "postmortem_due_seconds": None,
}

channels = pytest.mark.parametrize("name", list(CHANNELS), ids=[str(c) for c in CHANNELS])


def occasion(event: MessageEvent, seq: str = "1", *, quiet: bool = False) -> Occasion:
    ctx = payments_outage(event)
    if quiet:  # a policy that asks for nobody: only what already carries the incident hears
        ctx = replace(ctx, policy=QUIET_POLICY)
    return Occasion(ctx, TEAM, TEAMS, frozenset({"datadog"}), pages=not quiet, seq=seq)


def built(
    channel: Notifier, event: MessageEvent, state: dict[str, str], seq: str = "1"
) -> list[OutboundMessage]:
    told = occasion(event, seq)
    rendered = render(channel, event, told.ctx, TEMPLATES) if has_message(channel, event) else None
    return channel.build(told, rendered, state)


def receipt_for(message: OutboundMessage, n: int) -> Receipt:
    """What a vendor could answer: an id (and Statuspage's accepted components)."""
    components = message.body.get("incident", {}).get("component_ids")
    detail = {"components": " ".join(components)} if components else {}
    return Receipt(message.channel, vendor_id=f"vendor-{n}", detail=detail)


def test_every_channel_module_is_registered_and_every_templates_folder_is_a_channel() -> None:
    modules = {
        info.name
        for info in pkgutil.iter_modules(workers.channels.__path__)
        if not info.name.startswith("_") and info.name != "base"
    }
    assert modules == {str(name) for name in CHANNELS}
    folders = {p.name for p in TEMPLATES.iterdir() if p.is_dir()} - APP_TEMPLATE_FOLDERS
    assert folders == {str(name) for name in CHANNELS}


@channels
def test_a_channel_is_named_by_its_registry_key_and_declares_its_shape(name: Channel) -> None:
    channel = CHANNELS[name]
    assert channel.name is name
    assert channel.fields, "a channel says something"
    field_names = [field.name for field in channel.fields]
    assert len(set(field_names)) == len(field_names)
    for field in channel.fields:
        assert field.ext in ("txt", "md") and field.limit > 0
    assert channel.silent < set(MessageEvent), "a channel with nothing to say is no channel"
    assert channel.rate_limit is None or (
        channel.rate_limit.interval_seconds > 0 and channel.rate_limit.burst >= 1
    )
    assert len(set(channel.state_fields)) == len(channel.state_fields)


def test_no_two_channels_keep_the_same_incident_field() -> None:
    every = [field for channel in CHANNELS.values() for field in channel.state_fields]
    assert len(every) == len(set(every))


@channels
def test_its_templates_cover_exactly_the_events_it_speaks_of(name: Channel, tmp_path) -> None:
    """Its folder alone (with the shared macros): every event it speaks of has each field's
    template and no other, and each renders against every fixture (no undefined variable,
    unsafe call, text that cannot fit, or internal detail in public text)."""
    shutil.copytree(TEMPLATES / name, tmp_path / name)
    shutil.copy(TEMPLATES / "_macros.j2", tmp_path / "_macros.j2")
    assert check_templates(tmp_path, channels=[CHANNELS[name]]) == []


@channels
def test_its_fields_are_fitted_to_their_limits(name: Channel) -> None:
    for field in CHANNELS[name].fields:
        long = "An outage of the payments API, still under investigation. " * 600
        fitted = field.fit(long, field.limit)
        assert 0 < field.measure(fitted) <= field.limit
        assert field.fit("short", field.limit) == "short"


@channels
def test_without_its_environment_it_has_no_credentials_and_with_it_has(name: Channel) -> None:
    channel = CHANNELS[name]
    ruleset = load_ruleset(ROOT / "rules")
    assert channel.credentials(Settings.from_env({}), ruleset) is None
    environment = dict.fromkeys(channel.required_env, "set-for-the-test")
    # PagerDuty's keys are the variables the rules name, one per team.
    environment |= dict.fromkeys(ruleset.environment, "R0UT1NGK3Y0123456789abcdef012345")
    assert channel.credentials(Settings.from_env(environment), ruleset) is not None
    for missing in channel.required_env:
        partial = {k: v for k, v in environment.items() if k != missing}
        assert channel.credentials(Settings.from_env(partial), ruleset) is None, missing


@channels
def test_it_tells_a_whole_incident_and_records_what_later_messages_need(name: Channel) -> None:
    """The SEV1 story, event after event: every message is its channel's and its incident's,
    keyed by event and sequence (unique, and the same when a retry builds it again), and what
    a sent message changes is among the channel's state_fields and is what the next event's
    messages are built from."""
    channel = CHANNELS[name]
    state: dict[str, str] = {}
    seen: set[str] = set()
    sent = 0
    assert channel.wants(occasion(MessageEvent.DECLARED), state)
    for seq, event in enumerate(STORY, start=1):
        messages = built(channel, event, state, str(seq))
        assert messages == built(channel, event, dict(state), str(seq)), "pure: same again"
        for message in messages:
            assert message.channel is name
            assert message.incident_id == occasion(event).ctx.incident["id"]
            assert message.event == event.value and message.action
            assert message.idempotency_key.startswith(f"{name}:{message.incident_id}:{event}:")
            assert message.idempotency_key not in seen
            seen.add(message.idempotency_key)
            sent += 1
            changes = channel.state_changes(message, receipt_for(message, sent))
            assert set(changes) <= set(channel.state_fields)
            state = {k: v for k, v in (state | changes).items() if v}
    assert sent >= 2, "a channel that tells an incident tells its end too"


@channels
def test_a_channel_carrying_the_incident_is_told_the_rest(name: Channel) -> None:
    """Updates and resolutions reach every channel that already carries the incident, even
    when the policy (a lowered severity, business hours over) would not open it now."""
    channel = CHANNELS[name]
    state: dict[str, str] = {}
    for n, message in enumerate(built(channel, MessageEvent.DECLARED, state)):
        state |= channel.state_changes(message, receipt_for(message, n))
    assert state, "what it opened is remembered"
    quiet = occasion(MessageEvent.RESOLVED, "7", quiet=True)
    assert not channel.wants(quiet, {})
    assert channel.wants(quiet, state)
    assert name in wanted(quiet, state)


@channels
def test_a_silent_event_builds_without_text(name: Channel) -> None:
    channel = CHANNELS[name]
    for event in channel.silent:
        for message in channel.build(occasion(event), None, {}):
            assert message.channel is name  # e.g. PagerDuty's acknowledge: no text needed


@pytest.mark.parametrize("name", [n for n, c in CHANNELS.items() if c.public], ids=str)
def test_a_public_channel_is_guarded(name: Channel) -> None:
    """Public text names no host an alert carried (the rules allow none here)."""
    ctx = payments_outage(MessageEvent.DECLARED)
    hosts = {alert["host"] for alert in ctx.alerts if alert.get("host")}
    assert hosts
    text = " ".join(render(CHANNELS[name], MessageEvent.DECLARED, ctx, TEMPLATES).fields.values())
    assert not any(host in text for host in hosts)
