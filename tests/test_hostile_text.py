"""Outside text is hostile (issue 11, item 4): control and XML-invalid characters are gone
where text enters Klaxon, so /status/feed.atom stays XML; only services declared in rules/ are
ever named in public; markup a responder types reaches Statuspage and X as plain words."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from conftest import load_fixture
from hypothesis import given
from hypothesis import strategies as st
from incident_story import AUTH
from webhook_helpers import send

from app.messages.context import MessageEvent
from app.messages.fixtures import all_public
from app.messages.render import render
from app.plaintext import clean, clean_json, may_need_cleaning, plain
from workers.channels import CHANNELS, Channel
from workers.incident_context import build_context

# What XML 1.0 forbids, and DEL and C1 besides: nothing of it may survive clean().
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
CONTROL = "\x00\x01\x0b\x1b\x7f\x85\x9f\ufffe\uffff"
# Lone surrogates: \ud800 and \udfff apart (together they would be one valid character). A
# webhook body's become U+FFFD when it is read (app/jsontext.py); the API's are removed.
HOSTILE = "\x00\x01\x0b\x1b\ud800\x7f\x85\x9f\udfff\ufffe\uffff"
ATOM = "{http://www.w3.org/2005/Atom}"
UNDECLARED = "-1057233329617491739333"  # a fuzzed label that once became a public component


# -- clean() and plain(): properties -------------------------------------------------------


@given(st.text())
def test_clean_leaves_nothing_xml_forbids_and_only_removes(text) -> None:
    cleaned = clean(text)
    assert FORBIDDEN.search(cleaned) is None
    assert clean(cleaned) == cleaned
    assert [c for c in text if not FORBIDDEN.match(c)] == list(cleaned)  # nothing else changes
    ET.fromstring(f"<p>{_xml_escape(cleaned)}</p>")  # always fits in XML


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_text_without_forbidden_characters_is_kept_as_it_is(text) -> None:
    text = FORBIDDEN.sub("", text)
    assert clean(text) is text or clean(text) == text


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_clean_json_cleans_every_string_keys_included(document) -> None:
    cleaned = clean_json(json.loads(json.dumps(document)))
    assert FORBIDDEN.search(json.dumps(cleaned, ensure_ascii=False)) is None


@given(st.text())
def test_the_fast_check_never_misses_a_body_that_needs_cleaning(text) -> None:
    for body in (
        json.dumps(text).encode(),
        json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass"),
    ):
        if may_need_cleaning(body) is False:
            assert clean(text) == text


MARKUP = st.lists(
    st.sampled_from(
        [
            "<",
            ">",
            "<script>",
            "</script>",
            "<b>",
            "<img src=x onerror=alert(1)>",
            "[",
            "]",
            "(",
            ")",
            "javascript:",
            "JavaScript :",
            "vbscript:",
            "data:text/html;base64,",
            "alert(1)",
            "https://status.example.com",
            "!",
            "<!--",
            "-->",
            " ",
            "a",
            "\x00",
        ]
    )
).map("".join)


@given(st.one_of(MARKUP, st.text()))
def test_plain_leaves_no_tag_no_script_link_and_no_control_character(text) -> None:
    out = plain(text)
    assert re.search(r"<[A-Za-z/!?]", out) is None
    assert re.search(r"(?i)(?:java|vb)script\s*:", out) is None
    assert re.search(r"(?i)data:[a-z]+/", out) is None
    assert FORBIDDEN.search(out) is None
    for target in re.findall(r"\[[^\]\n]*\]\(([^()\s]*)\)", out):  # a Markdown link
        assert target.startswith(("http://", "https://", "mailto:")) or not target


def test_plain_keeps_prose_and_web_links() -> None:
    prose = (
        "Latency < 200ms again; see [our notes](https://status.example.com/x). Customer data: safe"
    )
    assert plain(prose) == prose
    assert plain("<script>alert(1)</script>Rolling back") == "alert(1)Rolling back"
    assert plain("[details](javascript:alert(document.cookie))") == "details"


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- end to end ------------------------------------------------------------------------------


@pytest.fixture
def settings(settings, tmp_path):
    """The per-alert rules with checkout-api declared a public component."""
    rules = (settings.rules_dir / "rules.yml").read_text()
    (tmp_path / "rules.yml").write_text(
        rules + "statuspage:\n  components:\n    checkout-api: ftgks51sfs2d\n"
    )
    return settings.with_changes(rules_dir=tmp_path)


def _triggered(client, service: str, title_extra: str = "") -> str:
    fixture = load_fixture("datadog", "triggered")
    payload = fixture.json
    payload["tags"] = f"env:prod, host:web-03, service:{service}, team:pay{HOSTILE}ments"
    payload["title"] += title_extra
    payload["id"] = payload["alert"]["id"] = str(abs(hash(service)))  # one incident per service
    response = send(client, fixture, json.dumps(payload).encode())  # \u0000 escapes, re-signed
    assert response.status_code == 202, response.get_json()
    return response.get_json()["incident"]


def test_a_nul_in_tags_and_in_a_status_update_leaves_the_feed_well_formed(app, client) -> None:
    incident = _triggered(client, f"checkout{CONTROL}-api", title_extra=HOSTILE)
    update = client.post(
        f"/api/incidents/{incident}/updates",
        json={"status": "identified", "message": f"Rolling back{HOSTILE} now", "by": "Lee"},
        headers=AUTH,
    )
    assert update.status_code == 201

    feed = client.get("/status/feed.atom")
    root = ET.fromstring(feed.get_data())  # raises on a NUL or U+FFFF
    [entry] = root.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title").startswith("Partial outage: Checkout API")
    assert "Rolling back now" in ET.tostring(entry, encoding="unicode")
    page = client.get("/status").get_data(as_text=True)
    assert FORBIDDEN.search(page) is None and "Rolling back now" in page

    stored = app.extensions["klaxon"].incidents
    [alert] = stored.incident_alerts(incident)
    text = json.dumps(alert, ensure_ascii=False)
    assert FORBIDDEN.search(text) is None
    assert alert["alert"]["service"] == "checkout-api"
    assert alert["alert"]["tags"]["team"] == "pay" + "\ufffd" * 6 + "ments"  # surrogates: U+FFFD


def test_a_service_the_rules_do_not_declare_is_never_a_public_component(client) -> None:
    _triggered(client, UNDECLARED)
    page = client.get("/status").get_data(as_text=True)
    feed = client.get("/status/feed.atom").get_data(as_text=True)
    assert "Partial outage: General" in page
    assert UNDECLARED not in page and UNDECLARED not in feed


def test_public_channels_name_only_a_declared_service(app, client, clock) -> None:
    klaxon = app.extensions["klaxon"]
    for service, named in (("checkout-api", "checkout-api"), (UNDECLARED, "")):
        incident = _triggered(client, service)
        ctx = build_context(
            klaxon.incidents,
            klaxon.ruleset,
            incident,
            MessageEvent.DECLARED,
            "test",
            "https://klaxon.example",
            clock.now(),
        )
        assert ctx.public_service == named
        public = replace(ctx, public=frozenset({"services"}))
        for channel in (Channel.STATUSPAGE, Channel.X):
            text = " ".join(
                render(CHANNELS[channel], MessageEvent.DECLARED, public).fields.values()
            )
            assert UNDECLARED not in text
            assert ("checkout-api" in text) is bool(named)


@pytest.mark.parametrize("channel", [Channel.STATUSPAGE, Channel.X])
def test_markup_a_responder_types_reaches_the_public_as_plain_words(channel) -> None:
    ctx = all_public(MessageEvent.UPDATE_POSTED)
    typed = (
        '<script>fetch("https://evil.example")</script>We rolled back. '
        "[Details](javascript:alert(document.cookie)) <img src=x onerror=alert(1)>"
    )
    ctx = replace(ctx, update={**ctx.update, "message": typed})
    text = " ".join(render(CHANNELS[channel], MessageEvent.UPDATE_POSTED, ctx).fields.values())
    assert "We rolled back." in text and "Details" in text
    assert "<script" not in text and "<img" not in text
    assert re.search(r"(?i)javascript\s*:", text) is None
