"""`klaxon rules test`: rule tests written in YAML (rules/tests/*.yml), each a fixture payload
or an inline alert plus what the rules should decide, with readable failures.

Payloads go through the real source parser, so a test also proves the parser and the rules
agree on field names."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.errors import RulesError
from app.models import Alert, Lifecycle, SourceName
from app.ruleset.classify import Decision, classify, suppression_for
from app.ruleset.model import RuleSet
from app.ruleset.policies import Suppression
from app.ruleset.schema import TESTS_FILE
from app.ruleset.shape import check_shape
from app.ruleset.yamlsource import read_source

DEFAULT_AT = "2026-03-14T09:14:00Z"  # the fixtures' story (tests/data/webhooks/README.md)


@dataclass(frozen=True, slots=True)
class Observed:
    decision: Decision
    suppression: Suppression | None

    def value(self, key: str) -> Any:
        """The actual value of one `expect:` key."""
        if key == "outcome":
            return (
                "ignored" if self.decision.ignored else "suppressed" if self.suppression else "new"
            )
        if key == "suppressed":
            return self.suppression.kind.value if self.suppression else False
        if key == "page":
            return self.decision.page and self.suppression is None
        return str(getattr(self.decision, key))


@dataclass(frozen=True, slots=True)
class RuleTestResult:
    name: str
    where: str
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class RuleTestCase:
    """One test as written: its name, file:line, the YAML mapping, and the folder its payload
    paths are relative to. `klaxon rules diff` replays the same alerts in the same scenario."""

    name: str
    where: str
    spec: dict[str, Any]
    base: Path

    @property
    def at(self) -> float:
        return datetime.fromisoformat(self.spec.get("at", DEFAULT_AT)).timestamp()

    @property
    def open_incidents(self) -> tuple[Mapping[str, str], ...]:
        return tuple(self.spec.get("open_incidents", ()))

    @property
    def state_changes(self) -> tuple[float, ...]:
        return tuple(
            datetime.fromisoformat(t).timestamp() for t in self.spec.get("state_changes", ())
        )

    def alerts(self) -> list[Alert]:
        """The inline alert, or those the real source parser reads from the payload.

        Raises:
            OSError, ValueError, KeyError: the alert cannot be built (named in the message).
        """
        if "alert" in self.spec:
            return [inline_alert(self.spec["alert"])]
        if "payload" not in self.spec or "source" not in self.spec:
            raise ValueError("a test needs `alert:`, or `payload:` and `source:`")
        payload = _resolve(self.spec["payload"], self.base)
        headers = _resolve(self.spec["headers"], self.base) if "headers" in self.spec else None
        return parse_payload(self.spec["source"], payload, headers)


def run_tests(directory: Path, ruleset: RuleSet) -> list[RuleTestResult]:
    """Results of every rule test in `directory` (*.yml), in file order.

    Raises:
        RulesError: a test file that is not valid YAML or has the wrong shape.
    """
    return [_run(case, ruleset) for case in read_cases(directory)]


def read_cases(directory: Path) -> list[RuleTestCase]:
    """Every rule test in `directory` (*.yml), in file order.

    Raises:
        RulesError: a test file that is not valid YAML or has the wrong shape.
    """
    return [case for file in sorted(directory.glob("*.yml")) for case in _cases(file)]


def _cases(file: Path) -> Iterator[RuleTestCase]:
    source, problems = read_source(str(file), file.read_text(encoding="utf-8"))
    problems = problems or check_shape(source, TESTS_FILE)
    if problems:
        raise RulesError([p.format() for p in problems])
    for i, case in enumerate(source.data["tests"]):
        yield RuleTestCase(case["name"], f"{file}:{source.at(('tests', i))[0]}", case, file.parent)


def _run(case: RuleTestCase, ruleset: RuleSet) -> RuleTestResult:
    try:
        alerts = case.alerts()
    except (OSError, ValueError, KeyError) as error:
        return RuleTestResult(case.name, case.where, (f"cannot build the alert: {error}",))
    failures: list[str] = []
    for alert in alerts:
        failures += _check(alert, case, ruleset)
    return RuleTestResult(case.name, case.where, tuple(failures))


def _check(alert: Alert, case: RuleTestCase, ruleset: RuleSet) -> list[str]:
    now = case.at
    decision = classify(alert, ruleset, now)
    outcome = Observed(
        decision, suppression_for(decision, ruleset, now, case.open_incidents, case.state_changes)
    )
    failures = [
        f"{key}: expected {_show(want)}, got {_show(outcome.value(key))}"
        for key, want in case.spec["expect"].items()
        if outcome.value(key) != want
    ]
    if failures:
        failures.append(f"decision: {decision.reason}")
    return failures


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _resolve(name: str, base: Path) -> Path:
    """A path relative to the test file, else to the working directory (the repo root)."""
    near = base / name
    return near if near.exists() else Path(name)


def inline_alert(data: dict[str, Any]) -> Alert:
    values = {
        "identity": "rule-test",
        "delivery_id": "rule-test",
        "event_type": "rule-test",
        "lifecycle": Lifecycle.TRIGGER.value,
    } | data
    values["source"], values["lifecycle"] = (
        SourceName(values["source"]),
        Lifecycle(values["lifecycle"]),
    )
    return Alert(**values)


def parse_payload(source: str, payload: Path, headers: Path | None = None) -> list[Alert]:
    """The alerts the real source parser reads from a payload file; headers default to the
    sibling `<name>.headers.json` when it exists."""
    from app.settings import Settings
    from app.sources import build_sources  # the web side; only needed when parsing payloads

    body = payload.read_bytes()
    headers = headers or payload.with_name(payload.stem + ".headers.json")
    header_map = json.loads(headers.read_text()) if headers.exists() else {}
    parser = build_sources(Settings(insecure_dev=True))[source]
    return parser.parse(header_map, json.loads(body), body).alerts
