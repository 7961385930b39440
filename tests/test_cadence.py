"""The comms rhythm as policy (rules/severities.yml comms; app/cadence.py), pure and on the
virtual clock: the first public post's deadline, the update interval for the first hours and
the long-incident one after, the reminder ahead of each due time and when late, the drafted
first post when nobody posted; and the rules check of the policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cadence import (
    ReminderStep,
    first_post_draft,
    first_reminder_at,
    next_update_due,
    reminder_step,
    update_interval,
)
from app.errors import RulesError
from app.ruleset import load_ruleset

ROOT = Path(__file__).parent.parent
MINUTE, HOUR = 60, 3600
T0 = 1_773_479_700.0  # declared: Saturday 2026-03-14 09:15 UTC


@pytest.fixture(scope="module")
def rules():
    return load_ruleset(ROOT / "rules")  # SEV1: first post 5m, every 30m, 1h after 2h


def sev1(**fields: object) -> dict[str, str]:
    incident = {"status": "investigating", "severity": "SEV1", "declared_at": repr(T0)}
    return {**incident, **{k: str(v) for k, v in fields.items()}}


def test_the_first_post_is_due_by_its_deadline_then_every_interval(rules) -> None:
    assert next_update_due(sev1(), rules) == T0 + 5 * MINUTE
    posted = T0 + 3 * MINUTE
    assert next_update_due(sev1(last_update_at=posted), rules) == posted + 30 * MINUTE


def test_long_incidents_get_the_slower_interval(rules) -> None:
    assert update_interval(rules, "SEV1", 119 * MINUTE) == 30 * MINUTE
    assert update_interval(rules, "SEV1", 2 * HOUR) == HOUR
    late = T0 + 3 * HOUR
    assert next_update_due(sev1(last_update_at=late), rules) == late + HOUR


def test_no_rhythm_for_quiet_severities_or_closed_incidents(rules) -> None:
    assert next_update_due(sev1(severity="SEV3"), rules) is None
    assert next_update_due(sev1(status="resolved"), rules) is None
    assert next_update_due({"status": "investigating", "severity": "SEV1"}, rules) is None


def test_the_commander_is_reminded_before_each_update_and_again_when_late(rules) -> None:
    incident = sev1(last_update_at=T0 + 4 * MINUTE)  # the next is due at 09:49
    due = T0 + 34 * MINUTE
    assert first_reminder_at(incident, rules) == due - 5 * MINUTE
    assert reminder_step(incident, rules, due - 5 * MINUTE) == ReminderStep("due_soon", due, due)
    assert reminder_step(incident, rules, due) == ReminderStep("overdue", due, due + 30 * MINUTE)


def test_an_update_since_the_reminder_was_set_only_moves_it(rules) -> None:
    incident = sev1(last_update_at=T0 + 20 * MINUTE)  # due 09:65 = 10:05, reminded 10:00
    step = reminder_step(incident, rules, T0 + 29 * MINUTE)  # set for the old due time
    assert step == ReminderStep("wait", T0 + 50 * MINUTE, T0 + 45 * MINUTE)


def test_no_first_post_by_the_deadline_publishes_the_draft(rules) -> None:
    deadline = T0 + 5 * MINUTE
    assert first_reminder_at(sev1(), rules) == T0  # reminded at once: 5m before 5m
    assert reminder_step(sev1(), rules, T0).action == "due_soon"
    step = reminder_step(sev1(), rules, deadline)
    assert step.action == "first_post" and step.due == deadline


def test_without_auto_first_post_the_deadline_is_a_late_reminder(tmp_path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for file in (ROOT / "rules").glob("*.yml"):
        text = file.read_text().replace("auto_first_post: true", "auto_first_post: false")
        (rules / file.name).write_text(text)
    ruleset = load_ruleset(rules)
    assert reminder_step(sev1(), ruleset, T0 + 5 * MINUTE).action == "overdue"


def test_the_drafted_first_post_uses_public_words_only(rules) -> None:
    assert first_post_draft("SEV1", rules, "Checkout API") == (
        "We're investigating a major outage affecting Checkout API. "
        "The service is unavailable for most or all customers."
    )
    assert first_post_draft("SEV2", rules) == (
        "We're investigating a partial outage. Some customers may see errors or failed requests."
    )


@pytest.mark.parametrize(
    ("comms", "problem"),
    [
        ("remind_before: 45m", "remind_before is not shorter than update_every"),
        ("long_incident_after: 2h", "long_incident_after and long_incident_update_every go"),
        ("auto_first_post: true", "auto_first_post needs first_post_within"),
        ("resolution_must_state: [apology]", "expected one of"),
    ],
)
def test_a_policy_that_cannot_work_is_refused(tmp_path, comms, problem) -> None:
    (tmp_path / "rules.yml").write_text(
        "teams:\n  sre: {}\nroutes:\n  - {name: all, team: sre}\n"
        f"severities:\n  SEV1:\n    update_every: 30m\n    comms:\n      {comms}\n"
    )
    with pytest.raises(RulesError) as raised:
        load_ruleset(tmp_path)
    assert any(problem in p for p in raised.value.problems), raised.value.problems
