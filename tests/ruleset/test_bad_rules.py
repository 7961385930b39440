"""Every kind of rules mistake, one per file, each with its exact expected message
(tests/data/rules/bad/<case>.yml and <case>.txt), like Alertmanager's conf.<case>.yml."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import RulesError
from app.ruleset import load_ruleset, reload_ruleset

BAD = Path("tests/data/rules/bad")
CASES = sorted(path.stem for path in BAD.glob("*.yml"))


def test_every_error_kind_has_a_case() -> None:
    wanted = {
        "yaml_syntax_error",
        "unknown_key",
        "bad_severity",
        "bad_enum_page_mode",
        "invalid_regex",
        "undefined_team",
        "duplicate_route_name",
        "shadowed_by_catch_all",
        "undocumented_env_var",
        "template_fails_to_render",
        "every_problem_at_once",
        "bad_component_id",
    }
    assert wanted <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_bad_rules_report_exact_messages(case: str) -> None:
    expected = (BAD / f"{case}.txt").read_text(encoding="utf-8").rstrip("\n")
    with pytest.raises(RulesError) as raised:
        load_ruleset(BAD / f"{case}.yml")
    assert str(raised.value) == expected


def test_problems_from_several_files_are_all_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "teams:\n  checkout: {}\nroutes:\n  - name: all\n    team: checkout\n"
    )
    (tmp_path / "b.yml").write_text(
        "teams:\n  checkout: {}\nsilences:\n  - name: x\n"
        "    kind: maintenence\n    ends_at: 2026-03-14T10:00:00Z\n"
    )
    with pytest.raises(RulesError) as raised:
        load_ruleset(tmp_path)
    b = tmp_path / "b.yml"
    assert raised.value.problems == [
        f"{b}:2:3: teams.checkout: 'checkout' is already defined at {tmp_path / 'a.yml'}:2",
        f"{b}:5:11: silences[0].kind: 'maintenence' is not valid\n"
        "    expected one of: silence, maintenance\n"
        "    hint: did you mean 'maintenance'?",
    ]


def test_missing_directory_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as raised:
        load_ruleset(tmp_path / "nope")
    assert raised.value.problems == [f"{tmp_path / 'nope'}: no such rules directory or file"]


def test_a_missing_relative_directory_names_where_it_was_looked_for(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RulesError) as raised:
        load_ruleset(Path("rules"))
    assert raised.value.problems == [
        f"rules: no such rules directory or file (in {tmp_path}; set KLAXON_RULES_DIR or run "
        "from the repository)"
    ]


def test_an_invalid_directory_never_replaces_a_valid_rule_set(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text("teams:\n  t: {}\nroutes:\n  - {name: all, team: t}\n")
    current, problems = reload_ruleset(None, tmp_path)
    assert current is not None and problems == []
    (tmp_path / "rules.yml").write_text("teams:\n  t: {}\nroutes:\n  - {name: all, team: u}\n")
    kept, problems = reload_ruleset(current, tmp_path)
    assert kept is current
    assert problems == [
        f"{tmp_path}/rules.yml:4:23: routes[0].team: team 'u' is not defined "
        "under teams:\n    hint: defined teams are t"
    ]
