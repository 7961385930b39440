"""The example rules for the change stories, as a copy a test may edit: the shipped catalog
says the Heroku app `checkout` runs the service `checkout-api` (the Datadog fixtures'
service), and the story's test reads that."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent.parent


def rules_with_checkout_app(directory: Path) -> Path:
    """A copy of rules/ in `directory` (its catalog maps Heroku app checkout to checkout-api)."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "rules").glob("*.yml"):
        (directory / path.name).write_text(path.read_text())
    return directory
