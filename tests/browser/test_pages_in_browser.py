"""The pages in Debian's chromium: a responder signs in, follows links from the incident list
to an incident, posts an update through the form, and customers see it on /status; runs a
whole incident from the page's own forms (acknowledge, hand over, severity, resolve); on a
phone-sized screen nothing scrolls sideways, the incident list shows every column and the
alerts table scrolls inside its box."""

from __future__ import annotations

import re

import pytest
from conftest import SECRETS
from incident_story import HOSTS, PEOPLE, open_incident, respond

from browser.conftest import ARTIFACTS, screenshot

pytestmark = pytest.mark.browser
TOKEN = SECRETS["KLAXON_API_TOKEN"]
UPDATE = "Payments are flowing again; we are watching error rates for another hour."


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/incidents")
    assert "/login" in page.url
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/incidents$"))


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_a_responder_posts_an_update_that_customers_see(page, http, live_server, clock) -> None:
    incident = open_incident(http, clock)
    respond(http, clock, incident)
    page.goto(f"{live_server}/status")
    assert page.get_by_role("heading", name="Major outage", exact=True).is_visible()
    screenshot(page, "status-desktop")

    sign_in(page, live_server)
    screenshot(page, "incidents-desktop")
    page.get_by_role("link", name=incident).click()
    page.wait_for_url(re.compile(rf"/incidents/{incident}$"))
    form = page.locator("form.update-form")
    form.get_by_label("Status", exact=True).select_option("monitoring")
    form.get_by_label("Message", exact=True).fill(UPDATE)
    form.get_by_label("Your name").fill(PEOPLE[1])
    page.get_by_role("button", name="Post update").click()
    page.wait_for_url(re.compile(rf"/incidents/{incident}#timeline$"))
    assert page.get_by_role("status").inner_text() == "Status update posted."
    assert page.locator("#timeline").get_by_text(UPDATE).is_visible()
    screenshot(page, "incident-desktop")

    page.goto(f"{live_server}/status")
    assert page.get_by_text(UPDATE).is_visible()
    text = page.locator("body").inner_text()
    assert not any(secret in text for secret in (*HOSTS, *PEOPLE, "Marco"))


def test_pages_fit_a_phone_screen(phone, http, live_server, clock) -> None:
    incident = open_incident(http, clock)
    respond(http, clock, incident)
    phone.goto(f"{live_server}/status")
    screenshot(phone, "status-phone")
    assert no_sideways_scroll(phone)
    sign_in(phone, live_server)
    assert no_sideways_scroll(phone)
    phone.goto(f"{live_server}/incidents/{incident}")
    screenshot(phone, "incident-phone")
    phone.screenshot(path=str(ARTIFACTS / "incident-phone-top.png"))
    assert no_sideways_scroll(phone)


RESOLUTION = "Checkout is back to normal; orders placed meanwhile went through."
IMPACT = "About 8% of checkouts failed for 40 minutes."


def act(page, form_title: str, button: str, flash: str, check: str = "", **fields: str) -> None:
    """Fill one of the incident page's action forms (found by its heading) and send it;
    `check` names a radio button to choose."""
    form = page.locator("form.action-form", has=page.get_by_role("heading", name=form_title))
    if check:
        form.get_by_role("radio", name=check, exact=True).check()
    for label, value in fields.items():
        field = form.get_by_label(label, exact=False)
        if value.startswith("SEV"):
            field.select_option(value)
        else:
            field.fill(value)
    form.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(r"#timeline$"))
    assert page.get_by_role("status").inner_text() == flash


def test_a_whole_incident_is_run_from_the_page(page, http, live_server, clock) -> None:
    incident = open_incident(http, clock)
    sign_in(page, live_server)
    page.goto(f"{live_server}/incidents/{incident}")
    glance = page.get_by_label("At a glance")
    assert "not yet" in glance.inner_text()  # nobody acknowledged

    act(
        page,
        "Acknowledge",
        "Acknowledge",
        f"Acknowledged by {PEOPLE[0]}.",
        **{"Your name": PEOPLE[0]},
    )
    assert f"by {PEOPLE[0]}" in glance.inner_text()
    assert page.get_by_role("heading", name="Acknowledge", exact=True).count() == 0

    act(
        page,
        "Hand over command",
        "Hand over",
        f"{PEOPLE[1]} is incident commander.",
        **{"New commander": PEOPLE[1]},
    )
    act(
        page,
        "Change severity",
        "Change severity",
        "Severity changed to SEV1.",
        **{"New severity": "SEV1"},
    )
    text = glance.inner_text()
    assert PEOPLE[1] in text and "SEV1" in text and "Next update due" in text
    roles = page.locator("form.action-form", has=page.get_by_role("heading", name="Assign a role"))
    roles.get_by_label("Role").select_option("comms_lead")
    roles.get_by_label("Name", exact=True).fill("Lee Chen")
    roles.get_by_role("button", name="Assign").click()
    page.wait_for_url(re.compile(r"#timeline$"))
    assert "Lee Chen" in glance.inner_text()
    screenshot(page, "cockpit-desktop")

    act(
        page,
        "Resolve",
        "Resolve",
        "Incident resolved.",
        check="No",
        **{
            "Resolution": RESOLUTION,
            "Customer impact": IMPACT,
            "Follow-ups": "Alert on the payment pool\nA runbook step for the failover",
        },
    )
    assert page.get_by_role("heading", name="Respond").count() == 0
    timeline = page.locator("#timeline").inner_text()
    assert "acknowledged" in timeline and "severity changed" in timeline
    assert f"by {PEOPLE[0]}" in timeline
    assert "data lost: no" in timeline and IMPACT in timeline
    assert "A runbook step for the failover" in timeline
    screenshot(page, "resolved-desktop")
    page.get_by_role("link", name="Post-mortem draft (Markdown)").click()
    draft = page.locator("body").inner_text()
    assert "| Data lost | no |" in draft and IMPACT in draft
    assert "| A runbook step for the failover | | | |" in draft
    assert "Lee Chen: communications lead" in draft

    page.goto(f"{live_server}/status")
    assert page.get_by_text(f"{RESOLUTION} No data was lost.").is_visible()


def test_lists_and_tables_work_on_a_phone(phone, http, live_server, clock) -> None:
    incident = open_incident(http, clock)
    respond(http, clock, incident)
    sign_in(phone, live_server)
    screenshot(phone, "incidents-phone")
    for column in ("Title", "Commander"):
        cell = phone.locator(f'td[data-label="{column}"]').first
        box = cell.bounding_box()
        assert cell.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert PEOPLE[1] in phone.locator('td[data-label="Commander"]').first.inner_text()

    phone.goto(f"{live_server}/incidents/{incident}")
    alerts = phone.get_by_role("region", name="Alerts", exact=True)
    box = alerts.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # the box fits the screen ...
    assert alerts.evaluate("e => e.scrollWidth > e.clientWidth")  # ... and scrolls inside
    assert no_sideways_scroll(phone)
    for title in ("Hand over command", "Change severity", "Resolve"):
        form = phone.locator("form.action-form", has=phone.get_by_role("heading", name=title))
        assert form.get_by_role("button").is_visible()
    screenshot(phone, "cockpit-phone")


def test_resolving_with_the_checklist_on_a_phone(phone, http, live_server, clock) -> None:
    incident = open_incident(http, clock)
    respond(http, clock, incident)
    sign_in(phone, live_server)
    phone.goto(f"{live_server}/incidents/{incident}")
    form = phone.locator("form.action-form", has=phone.get_by_role("heading", name="Resolve"))
    form.get_by_role("radio", name="Yes", exact=True).tap()
    assert no_sideways_scroll(phone)
    act(phone, "Resolve", "Resolve", "Incident resolved.", **{"Customer impact": IMPACT})
    assert "Data lost\nyes" in phone.get_by_label("At a glance").inner_text()
    assert no_sideways_scroll(phone)
    screenshot(phone, "resolved-phone")
    phone.goto(f"{live_server}/status")
    assert phone.get_by_text("This incident has been resolved. Some data was lost.").is_visible()


def test_uptime_bars_say_a_days_downtime_on_hover_and_on_tap(
    page, phone, http, live_server, clock
) -> None:
    incident = open_incident(http, clock)
    respond(http, clock, incident)  # a SEV1 open since 09:00: today is a major-outage day
    clock.advance(1800)
    page.goto(f"{live_server}/status")
    bars = page.locator("ol.bars").first
    assert bars.locator("li.day").count() == 90
    today = bars.locator("li.day").last
    tip = today.locator(".tip")
    assert tip.bounding_box()["width"] <= 1  # hidden until asked
    today.hover()
    assert tip.bounding_box()["width"] > 100
    assert re.fullmatch(r"Sat 14 Mar 2026: major outage (\d+h )?\d+m", tip.inner_text())
    screenshot(page, "status-uptime-desktop")

    phone.goto(f"{live_server}/status")
    bars = phone.locator("ol.bars").first
    visible = [d for d in bars.locator("li.day").all() if d.is_visible()]
    assert len(visible) == 30  # a phone shows the last 30 days
    assert visible[0].bounding_box()["width"] >= 6  # wide enough to tap
    visible[-1].tap()
    tip = visible[-1].locator(".tip")
    assert tip.bounding_box()["width"] > 100 and "major outage" in tip.inner_text()
    assert no_sideways_scroll(phone)
    screenshot(phone, "status-uptime-phone")


def test_declaring_from_the_incident_list_on_a_phone(phone, live_server) -> None:
    sign_in(phone, live_server)
    phone.get_by_text("Declare an incident").tap()
    form = phone.get_by_role("form", name="Declare an incident")
    form.get_by_label("Title").fill("Checkout emails not sent")
    form.get_by_label("Severity").select_option("SEV1")
    form.get_by_label("Service").fill("checkout-api")
    assert no_sideways_scroll(phone)
    screenshot(phone, "declare-phone")
    form.get_by_role("button", name="Declare").tap()
    phone.wait_for_url(re.compile(r"/incidents/INC-\d{4}-\d+$"))
    assert phone.get_by_role("heading", name="Checkout emails not sent").is_visible()
    assert "SEV1" in phone.get_by_label("At a glance").inner_text()
