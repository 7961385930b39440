"""The pages in Debian's chromium: a responder signs in, follows links from the incident list
to an incident, posts an update through the form, and customers see it on /status; on a
phone-sized screen nothing scrolls sideways."""

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
    page.get_by_label("Status", exact=True).select_option("monitoring")
    page.get_by_label("Message", exact=True).fill(UPDATE)
    page.get_by_label("Your name").fill(PEOPLE[1])
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
