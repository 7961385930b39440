"""The service catalog (issue 13): every alert maps to a catalog service or to "unknown"; the
catalog's team, group key, inhibition and components follow the canonical service, and
`unknown` never groups or inhibits across sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import RulesError
from app.ruleset import classify, explain, load_ruleset
from app.ruleset.components import affected_components
from app.ruleset.policies import check_inhibition

from .helpers import alert, at, rules

MONDAY_NOON = at("2026-03-16T12:00:00+01:00")

CATALOG = """
teams:
  checkout: {}
  payments: {}
  platform: {}
defaults:
  group_by: [team, service]
routes:
  - {name: payments-tagged, match: {tags.team: payments}, team: payments}
  - {name: catch-all, team: platform}
inhibit_rules:
  - name: outage-mutes-minor
    source_match: {severity: [SEV1, SEV2]}
    target_match: {severity: [SEV3, SEV4]}
    equal: [service]
services:
  checkout-api:
    team: checkout
    component: ftgks51sfs2d
    aliases: ["Checkout API"]
    patterns:
      - matchers: [source = datadog, 'title =~ "(?i)checkout"']
  payments-api:
    team: payments
    component: [b4xq9m2kd7ns, ftgks51sfs2d]
"""


def test_every_spelling_and_pattern_maps_to_one_service_with_the_catalogs_team(
    tmp_path: Path,
) -> None:
    ruleset = rules(tmp_path, CATALOG)
    pagerduty = classify(alert("pagerduty", service="Checkout API"), ruleset, 0)
    # tagged team=payments by the sender: the route says payments, the catalog owns it
    opsgenie = classify(
        alert("opsgenie", service="checkout-api", tags={"team": "payments"}), ruleset, 0
    )
    by_title = classify(alert("datadog", title="[prod] Checkout p99 high"), ruleset, 0)
    keys = {d.group_key for d in (pagerduty, opsgenie, by_title)}
    assert keys == {"team=checkout|service=checkout-api"}
    assert {d.team for d in (pagerduty, opsgenie, by_title)} == {"checkout"}
    assert opsgenie.rule == "payments-tagged"  # the route still decides everything else


def test_an_unknown_service_never_groups_across_sources(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, CATALOG)
    datadog = classify(alert("datadog", identity="a", service="billing"), ruleset, 0)
    sentry = classify(alert("sentry", identity="b", service="billing"), ruleset, 0)
    again = classify(alert("datadog", identity="c", service="Billing"), ruleset, 0)
    nameless = classify(alert("datadog", identity="d"), ruleset, 0)
    other_nameless = classify(alert("opsgenie", identity="e"), ruleset, 0)
    assert datadog.labels["service"] == "unknown" and datadog.team == "platform"
    assert datadog.group_key == "team=platform|service=unknown:datadog:billing"
    assert sentry.group_key != datadog.group_key == again.group_key
    assert nameless.group_key.endswith("|alert=datadog:d")
    assert other_nameless.group_key != nameless.group_key


def test_an_unknown_service_never_inhibits(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, CATALOG)
    outage = {"severity": "SEV1", "service": "unknown", "team": "platform"}
    minor = classify(alert("datadog", service="billing", source_severity="P4"), ruleset, 0)
    assert minor.labels["service"] == "unknown"
    assert check_inhibition(ruleset, minor.labels, [outage]) is None
    known = classify(alert("datadog", service="Checkout API", source_severity="P4"), ruleset, 0)
    checkout_outage = outage | {"service": "checkout-api", "team": "checkout"}
    assert check_inhibition(ruleset, known.labels, [checkout_outage]) is not None


def test_components_come_from_the_catalog(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, CATALOG)
    assert affected_components(ruleset, ["checkout-api", "payments-api"]) == (
        "ftgks51sfs2d",
        "b4xq9m2kd7ns",
    )


def test_explain_shows_how_the_service_was_mapped(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, CATALOG)
    by_title = explain(alert("datadog", title="Checkout down"), ruleset, MONDAY_NOON)
    assert by_title.lines[0] == (
        f"service '' is 'checkout-api' in the catalog (pattern at {tmp_path}/rules.yml:22)"
    )
    unknown = explain(alert("datadog", service="billing"), ruleset, MONDAY_NOON)
    assert unknown.lines[0] == (
        "service 'billing' is 'unknown' in the catalog ('billing' is not in the catalog)"
    )
    # a name the sender chose wins over a title pattern
    named = explain(alert("datadog", service="checkout-db", title="Checkout DB"), ruleset, 0)
    assert named.decision.labels["service"] == "unknown"


def test_colliding_aliases_are_reported_at_file_line_col(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as raised:
        rules(tmp_path, CATALOG + '    aliases: ["checkout_api"]\n')
    [problem] = raised.value.problems
    assert problem.startswith(f"{tmp_path}/rules.yml:26:15: services.payments-api.aliases[0]:")
    assert "'checkout_api' names both service 'checkout-api' and 'payments-api'" in problem


def test_the_shipped_rules_map_the_sample_checkout_outage_to_one_service() -> None:
    ruleset = load_ruleset("rules")
    names = ["Checkout API", "checkout-api", "checkout", "Payments Platform", "search"]
    mapped = [explain(alert(service=n), ruleset, MONDAY_NOON).decision for n in names]
    assert [(d.labels["service"], d.team) for d in mapped] == [
        ("checkout-api", "checkout"),
        ("checkout-api", "checkout"),
        ("checkout-api", "checkout"),
        ("payments-api", "payments"),
        ("search-api", "search"),
    ]
