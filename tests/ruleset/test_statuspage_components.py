"""statuspage.components: services mapped to Statuspage component ids, loaded and checked like
every other section, and the components an incident's services add up to."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import RulesError
from app.ruleset import explain, load_ruleset
from app.ruleset.components import affected_components

from .helpers import alert, rules

BASE = "teams:\n  checkout: {}\nroutes:\n  - {name: catch-all, team: checkout}\n"


def test_the_example_rules_map_services_to_component_ids() -> None:
    mapped = load_ruleset("rules").statuspage_components
    assert mapped["checkout-api"] == ("ftgks51sfs2d",)
    assert mapped["checkout-workers"] == ("ftgks51sfs2d", "7yhl8w0jp3k5")
    # From the service catalog: PagerDuty's "Checkout API" is checkout-api, no second key.
    assert "Checkout API" not in mapped


def test_one_id_or_a_list_each_once_in_the_order_written(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """statuspage:
  components:
    checkout-api: ftgks51sfs2d
    payments-api: [b4xq9m2kd7ns, ftgks51sfs2d, b4xq9m2kd7ns]
""",
    )
    assert dict(ruleset.statuspage_components) == {
        "checkout-api": ("ftgks51sfs2d",),
        "payments-api": ("b4xq9m2kd7ns", "ftgks51sfs2d"),
    }


def test_rules_without_the_section_map_nothing(tmp_path: Path) -> None:
    assert dict(rules(tmp_path, BASE).statuspage_components) == {}


def test_a_service_mapped_in_two_files_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        BASE + "statuspage:\n  components:\n    checkout-api: ftgks51sfs2d\n"
    )
    (tmp_path / "b.yml").write_text(
        "statuspage:\n  components:\n    search-api: r8t2vz6c0wqe\n    checkout-api: b4xq9m2kd7ns\n"
    )
    with pytest.raises(RulesError) as raised:
        load_ruleset(tmp_path)
    assert raised.value.problems == [
        f"{tmp_path / 'b.yml'}:4:5: statuspage.components.checkout-api: 'checkout-api' is "
        f"already defined at {tmp_path / 'a.yml'}:7"
    ]


def test_files_may_each_map_their_own_services(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        BASE + "statuspage:\n  components:\n    checkout-api: ftgks51sfs2d\n"
    )
    (tmp_path / "b.yml").write_text("statuspage:\n  components:\n    search-api: r8t2vz6c0wqe\n")
    assert set(load_ruleset(tmp_path).statuspage_components) == {"checkout-api", "search-api"}


def test_an_all_digit_id_must_be_quoted(tmp_path: Path) -> None:
    # YAML reads 123456789012 as a number; Statuspage ids are strings.
    (tmp_path / "rules.yml").write_text(
        BASE + "statuspage:\n  components:\n    search-api: 123456789012\n"
    )
    with pytest.raises(RulesError) as raised:
        load_ruleset(tmp_path)
    assert raised.value.problems == [
        f"{tmp_path / 'rules.yml'}:7:17: statuspage.components.search-api: expected a string "
        "or a list, got a whole number"
    ]
    (tmp_path / "rules.yml").write_text(
        BASE + "statuspage:\n  components:\n    search-api: '123456789012'\n"
    )
    assert load_ruleset(tmp_path).statuspage_components["search-api"] == ("123456789012",)


def test_a_service_name_with_stray_spaces_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(
        BASE + "statuspage:\n  components:\n    'checkout-api ': ftgks51sfs2d\n"
    )
    with pytest.raises(RulesError) as raised:
        load_ruleset(tmp_path)
    assert raised.value.problems == [
        f"{tmp_path / 'rules.yml'}:7:5: statuspage.components.checkout-api : 'checkout-api ' "
        "is not a valid name\n    expected a name matching ^\\S(.*\\S)?$"
    ]


def test_an_incident_affects_the_components_of_all_its_services(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE
        + """statuspage:
  components:
    checkout-api: ftgks51sfs2d
    Checkout API: ftgks51sfs2d
    payments-api: [b4xq9m2kd7ns, ftgks51sfs2d]
""",
    )
    services = ["checkout-api", "", None, "payments-api", "Checkout API", "search-api"]
    assert affected_components(ruleset, services) == ("ftgks51sfs2d", "b4xq9m2kd7ns")
    assert affected_components(ruleset, ["search-api", ""]) == ()


def test_explain_names_the_components_of_the_alerts_service(tmp_path: Path) -> None:
    ruleset = rules(
        tmp_path,
        BASE + "statuspage:\n  components:\n    checkout-api: [ftgks51sfs2d, b4xq9m2kd7ns]\n",
    )
    lines = explain(alert(service="checkout-api"), ruleset, 0).lines
    assert "  statuspage components: ftgks51sfs2d, b4xq9m2kd7ns (service 'checkout-api')" in lines
    lines = explain(alert(service="search-api"), ruleset, 0).lines
    assert (
        "  statuspage components: none (service 'search-api' is not under "
        "statuspage.components)" in lines
    )
    lines = explain(alert(), ruleset, 0).lines
    assert "  statuspage components: none (the alert has no service)" in lines


GROUPED = BASE + (
    "statuspage:\n  components:\n    checkout-api: ftgks51sfs2d\n    search-api: r8t2vz6c0wqe\n"
    "    payments-api: b4xq9m2kd7ns\n"
)


def test_component_groups_list_services_in_the_order_written(tmp_path: Path) -> None:
    ruleset = rules(tmp_path, GROUPED + "  groups:\n    Storefront: [payments-api, checkout-api]\n")
    assert dict(ruleset.statuspage_groups) == {"Storefront": ("payments-api", "checkout-api")}
    assert dict(load_ruleset("rules").statuspage_groups)["Storefront"][0] == "checkout-api"


def test_a_group_names_only_mapped_services_each_in_one_group(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(
        GROUPED
        + "  groups:\n    Storefront: [checkout-api]\n    Other: [checkout-api, serch-api]\n"
    )
    with pytest.raises(RulesError) as raised:
        load_ruleset(tmp_path)
    where = tmp_path / "rules.yml"
    assert raised.value.problems == [
        f"{where}:12:13: statuspage.groups.Other[0]: service 'checkout-api' is already in "
        "group 'Storefront'\n    hint: a component shows under one group",
        f"{where}:12:27: statuspage.groups.Other[1]: service 'serch-api' has no status page "
        "component\n    hint: give it a `component:` in services.yml or statuspage.components; "
        "did you mean 'search-api'?",
    ]
