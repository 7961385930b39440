"""An alert as flat string labels, the one view matchers, templates and group keys read."""

from __future__ import annotations

from app.models import Alert
from app.ruleset.vocabulary import ALERT_FIELDS


def alert_labels(alert: Alert) -> dict[str, str]:
    """Non-empty alert fields by name, plus every tag as `tags.<name>`; empty means absent."""
    labels = {name: str(value) for name in ALERT_FIELDS
              if (value := getattr(alert, name))}
    labels.update({f"tags.{key}": value for key, value in alert.tags.items() if value != ""})
    return labels


def is_known_field(name: str, extra: tuple[str, ...] = ()) -> bool:
    """True for an alert field, `tags.<name>`, or one of `extra` (e.g. severity, team)."""
    return name in ALERT_FIELDS or name in extra or (name.startswith("tags.") and len(name) > 5)
