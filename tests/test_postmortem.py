"""The post-mortem draft: rendered from the incident in Redis after a whole incident told over
HTTP on the virtual clock, compared with tests/golden/postmortem/; served as Markdown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from incident_story import AUTH, full_story, open_incident

from app.postmortem import cell, responders

GOLDEN = Path(__file__).parent / "golden" / "postmortem" / "resolved_sev1.md"


def test_draft_of_a_resolved_incident_matches_golden(client, clock, request) -> None:
    incident = full_story(client, clock)
    clock.advance(3600)
    response = client.get(f"/api/incidents/{incident}/postmortem.md", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "text/markdown"
    text = response.get_data(as_text=True)
    if request.config.getoption("--update-golden") or os.environ.get("KLAXON_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_draft_of_an_open_incident_says_what_is_not_done_yet(client, clock) -> None:
    incident = open_incident(client, clock)
    clock.advance(600)
    text = client.get(f"/api/incidents/{incident}/postmortem.md", headers=AUTH).get_data(
        as_text=True
    )
    assert "| Time to acknowledge | not acknowledged |" in text
    assert "| Time to resolve | not resolved |" in text
    assert "| Duration | 12m so far |" in text
    assert "_Nobody is named on the timeline; add the responders._" in text


def test_draft_needs_the_token_and_a_known_incident(client) -> None:
    assert client.get("/api/incidents/INC-2026-0001/postmortem.md").status_code == 401
    assert client.get("/api/incidents/INC-2026-0042/postmortem.md", headers=AUTH).status_code == 404


def test_responders_are_named_once_with_everything_they_did() -> None:
    timeline = [
        {"kind": "acknowledged", "data": {"by": "Ann"}},
        {"kind": "status_update", "data": {"by": "Ann"}},
        {"kind": "status_update", "data": {"by": "API"}},
        {"kind": "commander", "data": {"by": "Bo", "assigned_by": "Ann"}},
        {"kind": "resolved", "data": {"by": "quiet period"}},
    ]
    assert responders({"commander": "Bo"}, timeline) == [
        {"name": "Bo", "roles": ["incident commander"]},
        {"name": "Ann", "roles": ["acknowledged", "posted status updates"]},
    ]


@pytest.mark.parametrize("text, expected", [("a | b", "a \\| b"), ("two\nlines", "two lines")])
def test_table_cells_stay_one_cell(text, expected) -> None:
    assert cell(text) == expected
