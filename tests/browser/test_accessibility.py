"""An accessibility check of every page with axe-core (the axe.min.js that the
axe-playwright-python package ships, run inside the page by Playwright in Debian's
chromium): the public status page, sign-in, the incident list, an incident page (open, with
a refused form's errors, and resolved), the outbox, failed jobs and an error page, at
desktop and phone sizes. No serious or critical violation may remain."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from incident_story import PEOPLE, api, open_incident, respond

from browser.test_pages_in_browser import sign_in

pytestmark = pytest.mark.browser
AXE = (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
BLOCKING = ("serious", "critical")


def violations(page, skip: tuple[str, ...] = ()) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (less the rules
    in `skip`)."""
    page.evaluate(AXE)
    options = {"resultTypes": ["violations"], "rules": {rule: {"enabled": False} for rule in skip}}
    result = page.evaluate("options => axe.run(document, options)", options)
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "where": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def check(page, url: str) -> None:
    page.goto(url)
    found = violations(page)
    assert not found, f"{url}:\n" + json.dumps(found, indent=1)


@pytest.fixture
def story(http, clock) -> str:
    """One open SEV1 incident with updates, and one resolved earlier."""
    earlier = open_incident(http, clock)
    api(http, "POST", f"/incidents/{earlier}/resolve", {"by": "Ana", "message": "Fixed."})
    clock.advance(600)
    incident = api(
        http,
        "POST",
        "/incidents",
        {"title": "Checkout down", "severity": "SEV2", "service": "checkout-api", "by": "Ana"},
    )["incident"]
    respond(http, clock, incident)
    return incident


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_passes_axe(request, size, http, live_server, story) -> None:
    page = request.getfixturevalue("page" if size == "desktop" else "phone")
    check(page, f"{live_server}/status")
    # Refreshing every minute is the reader's choice, made with a link that stops it too
    # (WCAG 2.2.1's "turn off"); axe's meta-refresh rule cannot see that choice.
    page.goto(f"{live_server}/status?refresh=on")
    assert violations(page, skip=("meta-refresh",)) == []
    check(page, f"{live_server}/login")
    sign_in(page, live_server)
    check(page, f"{live_server}/incidents")
    page.get_by_text("Declare an incident").click()  # the form, open
    assert violations(page) == []
    check(page, f"{live_server}/incidents/{story}")
    check(page, f"{live_server}/incidents/INC-2026-0001")  # resolved
    check(page, f"{live_server}/outbox")
    check(page, f"{live_server}/failed")
    check(page, f"{live_server}/incidents/INC-2026-9999")  # an error page


def test_a_refused_form_and_its_errors_pass_axe(page, http, live_server, story) -> None:
    sign_in(page, live_server)
    page.goto(f"{live_server}/incidents/{story}")
    form = page.locator("form.action-form", has=page.get_by_role("heading", name="Assign a role"))
    name = form.get_by_label("Name", exact=True)
    name.evaluate("e => e.removeAttribute('required')")  # the browser would not send it empty
    form.get_by_role("button", name="Assign").click()
    assert "Name is required." in page.locator("#roles-errors").inner_text()
    found = violations(page)
    assert not found, json.dumps(found, indent=1)
    assert PEOPLE[0] in page.locator("body").inner_text()


def test_the_check_finds_what_it_looks_for(page) -> None:
    """The same check on a page with known faults: an image without text, an empty button."""
    page.set_content('<html lang="en"><body><img src="x.png"><button></button></body></html>')
    assert {v["rule"] for v in violations(page)} >= {"image-alt", "button-name"}
