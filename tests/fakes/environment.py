"""The environment that points a Klaxon process at the fake vendors: one place, so every
end-to-end test (in-process jobs or real worker processes) configures them the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
CHECKOUT_ROUTING_KEY = "R0UT1NGK3YCHECKOUTpd0123456789ab"  # 32 characters, as PagerDuty's are


def vendor_environment(
    secrets: dict[str, str],
    redis_url: str,
    *,
    pagerduty: Any = None,
    statuspage: Any = None,
    x: Any = None,
    opsgenie: Any = None,
    **extra: str,
) -> dict[str, str]:
    """Klaxon's variables for the example rules, with credentials for each fake given."""
    env = {
        **secrets,
        "REDIS_URL": redis_url,
        "KLAXON_RULES_DIR": str(ROOT / "rules"),
        "KLAXON_TEMPLATES_DIR": str(ROOT / "templates"),
    }
    if pagerduty is not None:
        env.update(
            PD_ROUTING_KEY_CHECKOUT=CHECKOUT_ROUTING_KEY,
            PAGERDUTY_EVENTS_URL=pagerduty.url,
            PAGERDUTY_CA_FILE=str(pagerduty.ca_file),
        )
    if statuspage is not None:
        env.update(
            STATUSPAGE_API_KEY="sp-key-1234567",
            STATUSPAGE_PAGE_ID="pg1kx",
            STATUSPAGE_API_URL=statuspage.url + "/v1",
        )
    if x is not None:
        env.update(
            X_API_KEY="xck-1234567",
            X_API_SECRET="xcs-1234567",
            X_ACCESS_TOKEN="xat-1234567",
            X_ACCESS_TOKEN_SECRET="xas-1234567",
            X_API_URL=x.url,
        )
    if opsgenie is not None:
        env.update(OPSGENIE_API_KEY="og-api-key-1234567", OPSGENIE_API_URL=opsgenie.url)
    return env | extra
