"""The alerts `klaxon rules diff` replays: the rules' own tests (each in its scenario), the
byte-exact webhook fixtures parsed by the real sources, and JSON-lines files of normalised
alerts exported from a running Klaxon (`klaxon rules sample`).

Fixtures are replayed for their triggers only: the store applies a decision when an alert
fires, and later events about it (acknowledge, note, resolve) follow that decision."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.errors import CorpusError, PayloadError, RulesError
from app.models import Alert, Lifecycle
from app.ruleset.ruletests import parse_payload, read_cases
from app.ruleset.vocabulary import SOURCES


@dataclass(frozen=True, slots=True)
class Replay:
    """One alert to classify under both rule sets, and where it came from."""

    alert: Alert
    origin: str  # a rule test's name and file:line, a fixture's path, or file:line of a line
    at: float | None = None  # None: the instant the diff runs at
    open_incidents: tuple[Mapping[str, str], ...] = ()
    state_changes: tuple[float, ...] = ()


def from_rule_tests(directory: Path) -> list[Replay]:
    """Every alert of every rule test in `directory`, at the test's own instant and with its
    open incidents and state changes: the scenario its author wrote.

    Raises:
        CorpusError: a test file of the wrong shape, or a test whose alert cannot be built.
    """
    try:
        cases = read_cases(directory)
    except RulesError as error:
        raise CorpusError(str(error)) from None
    replays = []
    for case in cases:
        try:
            alerts = case.alerts()
        except (OSError, ValueError, KeyError, PayloadError) as error:
            raise CorpusError(
                f"{case.where}: cannot build the alert of rule test '{case.name}': {error}"
            ) from None
        replays += [
            Replay(
                alert,
                f"rule test '{case.name}' ({case.where})",
                case.at,
                case.open_incidents,
                case.state_changes,
            )
            for alert in alerts
        ]
    return replays


def from_fixtures(directory: Path) -> list[Replay]:
    """The triggers in the webhook fixtures `<directory>/<source>/*.json` (a sibling
    `<name>.headers.json` holds the headers), each parsed by its source's real parser.

    Raises:
        CorpusError: a fixture its source's parser refuses.
    """
    replays = []
    for source in SOURCES:
        for payload in sorted((directory / source).glob("*.json")):
            if payload.name.endswith(".headers.json"):
                continue
            try:
                alerts = parse_payload(source, payload)
            except (OSError, ValueError, PayloadError) as error:
                raise CorpusError(f"{payload}: the {source} parser refuses it: {error}") from None
            replays += [
                Replay(alert, f"{payload} #{i}" if len(alerts) > 1 else str(payload))
                for i, alert in enumerate(alerts, 1)
                if alert.lifecycle is Lifecycle.TRIGGER
            ]
    return replays


def from_alerts_file(path: Path) -> list[Replay]:
    """One alert per line of a JSON-lines file (Alert.to_json, as `klaxon rules sample`
    writes); blank lines are skipped.

    Raises:
        CorpusError: the file cannot be read, or a line that is not a normalised alert
            (file:line and why).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CorpusError(f"{path}: {error.strerror or error}") from None
    replays = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            alert = Alert.from_dict(json.loads(line))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise CorpusError(f"{path}:{number}: not a normalised alert ({_why(error)})") from None
        replays.append(Replay(alert, f"{path}:{number}"))
    return replays


def _why(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"invalid JSON: {error.msg} at column {error.colno}"
    if isinstance(error, KeyError):
        return f"missing {error}"
    return str(error)
