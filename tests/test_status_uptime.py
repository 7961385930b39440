"""The status page's components: every declared component in the groups rules/ give, each
with 90 days of uptime bars from incident history whose days say their downtime on hover and
on focus (tap), and /api/v2/components.json with Statuspage's group entries."""

from __future__ import annotations

import html
import re

import pytest
from incident_story import api, full_story
from test_status_api import get

from app.messages.wording import duration
from app.pages.uptime import DAY

GROUPS = """statuspage:
  components:
    checkout-api: ftgks51sfs2d
    payments-api: b4xq9m2kd7ns
    search-api: r8t2vz6c0wqe
  groups:
    Storefront: [checkout-api, payments-api]
"""


@pytest.fixture
def settings(settings, tmp_path):
    """The per-alert rules; three declared components, two of them grouped."""
    rules = (settings.rules_dir / "rules.yml").read_text()
    (tmp_path / "rules.yml").write_text(rules + GROUPS)
    return settings.with_changes(rules_dir=tmp_path)


def days(page: str, component: str) -> list[tuple[str, str, bool]]:
    """(status, what the day says, focusable) of each bar of one component, oldest first."""
    bars = re.search(rf'aria-label="{component}: the past 90 days[^"]*">(.*?)</ol>', page, re.S)
    assert bars, f"no uptime bars for {component}"
    return [
        (status, html.unescape(tip), bool(focus))
        for status, focus, tip in re.findall(
            r'<li class="day day-([a-z_-]+)"( tabindex="0")?><span class="tip">(.*?)</span>',
            bars.group(1),
        )
    ]


def test_components_show_in_their_groups_with_90_clean_days(client) -> None:
    page = client.get("/status").get_data(as_text=True)
    storefront = page.index("<span>Storefront</span>")
    assert storefront < page.index(">Checkout API<") < page.index(">Payments API<")
    assert page.index(">Payments API<") < page.index(">Search API<")  # outside every group
    checkout = days(page, "Checkout API")
    assert len(checkout) == 90 and {s for s, _, _ in checkout} == {"operational"}
    assert not any(focus for _, _, focus in checkout)  # clean days take no tab stop
    assert checkout[-1][1] == "Sat 14 Mar 2026: no downtime"
    assert "100.00% uptime" in page


def test_an_incident_is_downtime_on_its_day_until_it_is_out_of_the_window(client, clock) -> None:
    incident = full_story(client, clock)  # SEV2 raised to SEV1 (major outage), then resolved
    found = api(client, "GET", f"/incidents/{incident}")
    lasted = float(found["resolved_at"]) - float(found["created_at"])
    clock.advance(2 * DAY)
    page = client.get("/status").get_data(as_text=True)
    checkout = days(page, "Checkout API")
    assert checkout[-3] == (
        "major_outage",
        f"Sat 14 Mar 2026: major outage {duration(lasted)}",  # "1h 2m"
        True,  # focusable: a tap shows it
    )
    assert [s for s, _, _ in checkout].count("operational") == 89
    assert {s for s, _, _ in days(page, "Payments API")} == {"operational"}
    assert re.search(r"99\.\d\d% uptime", page)
    group = re.search(r'<span>Storefront</span><span class="pill pill-(\w+)"', page)
    assert group and group.group(1) == "operational"  # resolved: the group is fine again

    clock.advance(90 * DAY)  # the incident's day has left the 90 days
    page = client.get("/status").get_data(as_text=True)
    assert {s for s, _, _ in days(page, "Checkout API")} == {"operational"}


def test_days_before_the_kept_history_say_no_data(settings, redis_client, clock) -> None:
    from app import create_app
    from app.store.budget import StorageBudget

    short = settings.with_changes(storage=StorageBudget(retention_days=7))
    page = (
        create_app(short, connection=redis_client, clock=clock)
        .test_client()
        .get("/status")
        .get_data(as_text=True)
    )
    statuses = [s for s, _, _ in days(page, "Search API")]
    assert statuses.count("no-data") == 82 and statuses[-8:] == ["operational"] * 8


def test_components_json_has_statuspage_group_entries(client, clock) -> None:
    full_story(client, clock)
    clock.advance(3600)
    api(  # an open SEV2 on payments: partial outage
        client,
        "POST",
        "/incidents",
        {"title": "Payments slow", "severity": "SEV2", "service": "payments-api", "by": "Ana"},
    )
    components = get(client, "components")["components"]
    assert [(c["name"], c["group"], c["group_id"], c["status"]) for c in components] == [
        ("Storefront", True, None, "partial_outage"),  # its worst component
        ("Checkout API", False, "group-storefront", "operational"),
        ("Payments API", False, "group-storefront", "partial_outage"),
        ("Search API", False, None, "operational"),
    ]
    assert components[0]["id"] == "group-storefront"
    assert components[0]["components"] == ["checkout-api", "payments-api"]
    assert [c["position"] for c in components] == [1, 2, 3, 4]
    summary = get(client, "summary")
    assert summary["components"] == components
    [incident] = [i for i in summary["incidents"] if i["status"] != "resolved"]
    assert incident["components"][0]["group_id"] == "group-storefront"
