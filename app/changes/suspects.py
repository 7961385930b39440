"""Which changes are suspects of an incident, and in what order. Pure: the store reads the
changes, this decides. The runbooks' "suspect #1: bad code": what shipped to the incident's
services shortly before it started, newest first (the last change is the likeliest cause and
the cheapest to roll back)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.changes.model import Change
from app.models import Severity

DEFAULT_WINDOW_SECONDS = 2 * 3600  # rules/changes.yml `window` overrides it
# A deploy while one of these is open is flagged: the runbooks say to stop deploying.
FREEZE_SEVERITIES = frozenset({Severity.SEV1, Severity.SEV2})


def is_suspect(change: Change, onset: float, window_seconds: float) -> bool:
    """The change took effect within `window_seconds` before the incident's onset."""
    return 0 <= onset - change.when <= window_seconds


def rank(changes: Iterable[Change], onset: float, window_seconds: float) -> list[Change]:
    """The suspects among `changes`, newest first."""
    return sorted(
        (c for c in changes if is_suspect(c, onset, window_seconds)),
        key=lambda c: c.when,
        reverse=True,
    )


def is_deploy_during_incident(change: Change, onset: float, severity: str) -> bool:
    """A change that took effect after a SEV1/SEV2 incident started (and while it is open:
    the caller asks about open incidents only). A rollback is the runbooks' first move, not
    a deploy to stop."""
    return change.when > onset and severity in FREEZE_SEVERITIES and change.kind != "rollback"


def suspect_entry(change: Change, onset: float, during: bool = False) -> dict[str, Any]:
    """What an incident keeps of a change: the change, and when it was against the onset."""
    return {
        **change.to_dict(),
        "seconds_before_onset": round(onset - change.when, 3),
        "during_incident": during,
    }


def in_recency_order(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Suspects before changes made during the incident, each newest first, ranked 1, 2, ..."""
    ordered = sorted(
        entries, key=lambda e: (bool(e.get("during_incident")), -float(e.get("when") or 0))
    )
    return [{**entry, "rank": i} for i, entry in enumerate(ordered, start=1)]
