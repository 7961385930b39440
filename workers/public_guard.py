"""The public guard for the message templates; it lives in app/public_guard.py because the
status page (app/) guards its text with the same rules."""

from __future__ import annotations

from app.public_guard import (
    REDACTED,
    Category,
    Finding,
    Known,
    PublicLeak,
    ensure_public,
    known_from_vars,
    redact,
    scan,
)

__all__ = [
    "REDACTED",
    "Category",
    "Finding",
    "Known",
    "PublicLeak",
    "ensure_public",
    "known_from_vars",
    "redact",
    "scan",
]
