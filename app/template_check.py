"""The check of the message templates that `klaxon release` and `klaxon rules check` run.

Rendering is pure (app/messages/render.py), but which templates must exist is the channels'
registry (workers/channels, CHANNELS), and app/ never imports workers/ (tests/test_layers.py),
so the check is found by the name pyproject.toml gives it
(entry point `templates` in group `klaxon.checks`). A Klaxon installed without it reports that
as a problem: a release must never go out with its templates unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

GROUP = "klaxon.checks"


def check_templates(templates_dir: Path | str) -> list[str]:
    """Every problem with a templates directory, as "file[:line]: message" lines."""
    found = entry_points(group=GROUP, name="templates")
    if not found:
        return [
            f"{templates_dir}: no template check installed (entry point {GROUP}:templates; "
            "reinstall Klaxon: ./dev check, or uv sync)"
        ]
    check: Callable[[Path | str], list[str]] = next(iter(found)).load()
    return check(templates_dir)
