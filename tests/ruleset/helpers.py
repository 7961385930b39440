"""Small builders for rule-engine tests: write a rules file, make an alert, read a time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from app.models import Alert, Lifecycle, SourceName
from app.ruleset import RuleSet, load_ruleset


def rules(tmp_path: Path, text: str) -> RuleSet:
    (tmp_path / "rules.yml").write_text(text, encoding="utf-8")
    return load_ruleset(tmp_path)


def alert(source: str = "datadog", **fields: Any) -> Alert:
    values: dict[str, Any] = {
        "identity": "id-1",
        "delivery_id": "d-1",
        "event_type": "test",
        "lifecycle": Lifecycle.TRIGGER,
    } | fields
    return Alert(source=SourceName(source), **values)


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
