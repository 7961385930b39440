"""The rules engine: load rules/ (loader), classify alerts against it (classify), and the pure
checks the store applies with its own data (policies). No Redis, no Flask here."""

from __future__ import annotations

from app.ruleset.classify import Decision, classify
from app.ruleset.explain import Explanation, explain
from app.ruleset.loader import load_ruleset, reload_ruleset
from app.ruleset.model import RuleSet
from app.ruleset.policies import (
    Suppression,
    active_silences,
    check_flapping,
    check_inhibition,
    is_in_business_hours,
)

__all__ = [
    "Decision",
    "Explanation",
    "RuleSet",
    "Suppression",
    "active_silences",
    "check_flapping",
    "check_inhibition",
    "classify",
    "explain",
    "is_in_business_hours",
    "load_ruleset",
    "reload_ruleset",
]
