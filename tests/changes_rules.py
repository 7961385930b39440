"""The example rules with one more catalog entry, for the change stories: the Heroku app
`checkout` runs the service `checkout-api` (the Datadog fixtures' service). Kept out of
rules/services.yml, where the name would also rename the PagerDuty route's "Checkout API"."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent.parent
CHECKOUT_ENTRY = """
  checkout-api:
    description: cart and checkout API
    team: checkout
    heroku_apps: [checkout]
"""


def rules_with_checkout_app(directory: Path) -> Path:
    """A copy of rules/ in `directory` whose catalog maps Heroku app checkout to checkout-api."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "rules").glob("*.yml"):
        text = path.read_text()
        if path.name == "services.yml":
            text = text.rstrip("\n") + "\n" + CHECKOUT_ENTRY
        (directory / path.name).write_text(text)
    return directory
