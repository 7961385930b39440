"""Suspected changes in what a page carries (issue 17): PagerDuty custom_details, Opsgenie
details, and the reminder that tells the commander about a deploy during the incident."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.messages.context import MessageEvent
from app.messages.fixtures import checkout_latency
from app.messages.render import render
from app.ruleset import load_ruleset
from workers.channels import CHANNELS, Channel, Occasion

ROOT = Path(__file__).parent.parent
ROLLBACK = "heroku rollback v51 -a checkout"


def planned(channel: Channel, ctx):
    ruleset = load_ruleset(ROOT / "rules")
    team = ruleset.teams["checkout"] if channel is Channel.PAGERDUTY else ruleset.teams["payments"]
    notifier = CHANNELS[channel]
    told = Occasion(ctx, team, ruleset.teams, frozenset({"datadog"}), pages=True, seq="1")
    [message] = notifier.build(told, render(notifier, ctx.event, ctx, ROOT / "templates"), {})
    return message.body


def test_the_first_page_carries_the_suspects_in_its_custom_details() -> None:
    body = planned(Channel.PAGERDUTY, checkout_latency(MessageEvent.DECLARED))
    [change] = body["payload"]["custom_details"]["suspected_changes"]
    assert change["rollback"] == ROLLBACK and change["minutes_before_onset"] == 9.0
    assert body["payload"]["custom_details"]["incident"]  # the existing details stay


def test_opsgenie_details_are_strings_naming_the_newest_suspect() -> None:
    body = planned(Channel.OPSGENIE, checkout_latency(MessageEvent.DECLARED))
    assert body["details"]["rollback"] == ROLLBACK
    assert body["details"]["suspected_change"] == (
        "checkout-api v52 by ann.lee@example.com, 9 min before onset"
    )
    assert all(isinstance(v, str) for v in body["details"].values())


def test_without_suspects_the_details_are_as_before() -> None:
    ctx = replace(checkout_latency(MessageEvent.DECLARED), changes=[])
    assert "suspected_changes" not in planned(Channel.PAGERDUTY, ctx)["payload"]["custom_details"]
    assert set(planned(Channel.OPSGENIE, ctx)["details"]) == {"incident", "url"}


def test_the_commander_is_told_of_a_deploy_during_the_incident() -> None:
    ctx = checkout_latency(MessageEvent.REMINDER)
    during = {**ctx.changes[0], "version": "v53", "during_incident": True, "rank": 2}
    ctx = replace(ctx, reason="deploy_during_incident", changes=[ctx.changes[0], during])
    summary = render(CHANNELS[Channel.PAGERDUTY], ctx.event, ctx, ROOT / "templates")["summary"]
    assert "Marco Bianchi" in summary
    assert "deploy during the incident (checkout-api v53 by ann.lee@example.com)" in summary
    note = render(CHANNELS[Channel.OPSGENIE], ctx.event, ctx, ROOT / "templates")
    assert note["message"].startswith("[SEV2] Deploy during incident")
    assert "Stop deploying until it is resolved" in note["description"]
    # A deploy during the incident is no suspect: the details name v52 only.
    [suspect] = planned(Channel.PAGERDUTY, ctx)["payload"]["custom_details"]["suspected_changes"]
    assert suspect["version"] == "v52"
