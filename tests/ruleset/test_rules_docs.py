"""docs/rules.md explains what issue 13 changed: the service catalog (every key of a service
entry, `unknown`), grouping and inhibition with the empty-label rule, merged incidents, and the
stories of `klaxon rules diff`."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ruleset.schema import SERVICE_ENTRY

DOCS = (Path(__file__).parent.parent.parent / "docs" / "rules.md").read_text()


def section(title: str) -> str:
    start = DOCS.index(f"\n## {title}")
    end = DOCS.find("\n## ", start + 1)
    return " ".join(DOCS[start:end].split())  # line breaks aside


@pytest.mark.parametrize("key", sorted(SERVICE_ENTRY["properties"]))
def test_every_key_of_a_service_entry_is_documented(key: str) -> None:
    assert f" {key}:" in section("`services`: the service catalog")


def test_the_catalog_section_says_what_unknown_does() -> None:
    services = section("`services`: the service catalog")
    assert "**every alert maps to a catalog service or to `unknown`**" in services
    assert "**`unknown` never groups or inhibits across sources.**" in services
    assert "**The catalog team wins.**" in services


def test_grouping_and_inhibition_state_the_empty_label_rule() -> None:
    assert "**No matching on nothing.**" in section("`routes`")
    inhibition = section("`inhibit_rules`")
    assert "**Empty is not equal.**" in inhibition and "`unknown`" in inhibition


def test_merging_and_stories_are_documented() -> None:
    assert "`POST /api/incidents/<id>/merge`" in section("`routes`")
    assert "--stories" in section("What a change does: `klaxon rules diff`")
