"""After sign-in Klaxon goes back only to a path on this site: every known way to smuggle
another host past a "starts with one slash" check lands on /incidents, and no `next` makes a
500 (a CR/LF once broke the Location header)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_pages import TOKEN, csrf

from app.pages.auth import safe_next

BYPASSES = [
    "//evil.example",
    "//evil.example/x",
    "/\t/evil.example",  # browsers drop the tab: //evil.example (the reported one)
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\r\nSet-Cookie: klaxon_session=x",  # header injection
    "/\\evil.example",  # browsers read \ as /
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "https:evil.example",
    "http:/\\evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " //evil.example",
    "\x00//evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\x85/evil.example",  # C1 NEL
    "/\u2028/evil.example",
    "evil.example",
    "./evil",
    "",
    "/" + "a" * 5000,
]

KEPT = [
    "/incidents",
    "/incidents/INC-2026-0001",
    "/incidents/INC-2026-0001?tab=timeline#timeline",
    "/outbox?x=%2F%2Fevil.example",  # encoded: a query value, not a host
    "/%2F%2Fevil.example",  # a path segment the browser never decodes into a host
]


@pytest.mark.parametrize("target", BYPASSES, ids=lambda t: repr(t)[:40])
def test_a_next_that_could_leave_the_site_lands_on_incidents(target) -> None:
    assert safe_next(target) == "/incidents"


@pytest.mark.parametrize("target", KEPT)
def test_a_path_on_this_site_is_kept(target) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", BYPASSES[:12], ids=lambda t: repr(t)[:40])
def test_signing_in_with_a_hostile_next_redirects_to_incidents(client, target) -> None:
    """Through the real form: the query string is percent-encoded, as a link would carry it."""
    token = csrf(client, "/login")
    response = client.post(
        "/login?next=" + quote(target, safe=""), data={"token": TOKEN, "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/incidents"


def test_the_login_page_with_a_crlf_next_is_not_a_500(client) -> None:
    response = client.get("/login?next=/%0D%0ALocation:%20https://evil.example")
    assert response.status_code == 200
    assert "evil.example" not in response.get_data(as_text=True)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_whatever_next_says_the_redirect_stays_on_this_site(target) -> None:
    """What a browser makes of the answer: it drops tabs and newlines, reads \\ as /, and
    goes to another host only for a scheme or a leading //."""
    chosen = safe_next(target)
    as_browser_reads_it = chosen.replace("\\", "/")
    for dropped in "\t\n\r":
        as_browser_reads_it = as_browser_reads_it.replace(dropped, "")
    assert as_browser_reads_it.startswith("/")
    assert not as_browser_reads_it.startswith("//")
    assert chosen.isprintable()
