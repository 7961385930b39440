"""The verdict `klaxon rules diff` compares: the channels it names are the ones the workers
tell, and route locations are relative to the rules directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.messages.context import MessageEvent, NotificationContext
from app.models import SourceName
from app.ruleset import load_ruleset
from app.ruleset.verdict import declaration_channels, verdict
from app.ruleset.vocabulary import SEVERITIES
from workers.channels import Occasion, wanted

from .helpers import alert, at


@pytest.mark.parametrize("source", ["datadog", "pagerduty", "opsgenie"])
@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize("pages", [True, False])
def test_notify_names_the_channels_the_workers_tell(
    source: str, severity: str, pages: bool
) -> None:
    ruleset = load_ruleset("rules")
    policy = ruleset.severities[severity]
    ctx = NotificationContext(
        MessageEvent.DECLARED,
        "",
        {},
        [],
        {},
        {
            "page": policy.page.value,
            "x_post": policy.x_post,
            "statuspage": {
                "impact": policy.statuspage_impact.value,
                "component_status": policy.component_status.value,
            },
        },
        {},
        0.0,
    )
    for team in ruleset.teams.values():
        occasion = Occasion(ctx, team, sources=frozenset({source}), pages=pages)
        workers = [c.value for c in wanted(occasion, {})]
        assert list(declaration_channels(policy, team, SourceName(source), pages)) == workers, (
            team.name
        )


def test_a_route_location_is_the_same_in_any_checkout(tmp_path: Path) -> None:
    shutil.copytree("rules", tmp_path / "elsewhere" / "rules")
    checkout = alert("datadog", service="checkout-api", source_severity="P2")
    now = at("2026-03-16T10:00:00Z")
    here = verdict(checkout, load_ruleset("rules"), now)
    there = verdict(checkout, load_ruleset(tmp_path / "elsewhere" / "rules"), now)
    assert here.route_location == there.route_location == "routes.yml:46"
    assert here == there
    assert here.show("route") == "checkout-datadog (routes.yml:46)"
