"""An alert as flat string labels, the one view matchers, templates and group keys read."""

from __future__ import annotations

from app.models import Alert
from app.ruleset.vocabulary import ALERT_FIELDS

_TEXT_FIELDS = tuple(name for name in ALERT_FIELDS if name not in ("source", "lifecycle"))


def alert_labels(alert: Alert) -> dict[str, str]:
    """Non-empty alert fields by name, plus every tag as `tags.<name>`; empty means absent."""
    labels = {"source": alert.source.value, "lifecycle": alert.lifecycle.value}
    for name in _TEXT_FIELDS:
        value = getattr(alert, name)
        if value:
            labels[name] = value
    for key, value in alert.tags.items():
        if value != "":
            labels["tags." + key] = value
    return labels


def is_known_field(name: str, extra: tuple[str, ...] = ()) -> bool:
    """True for an alert field, `tags.<name>`, or one of `extra` (e.g. severity, team)."""
    return name in ALERT_FIELDS or name in extra or (name.startswith("tags.") and len(name) > 5)
