"""The service catalog (`services:`): each service's canonical name, its team, and the other
spellings sources use for it. Normalising the service is what lets "Checkout API" from
PagerDuty and `checkout-api` from Datadog group, inhibit and route as one service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NOT_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Service:
    name: str  # canonical
    team: str = ""
    aliases: tuple[str, ...] = ()
    # Where its changes come from (issue 17): Heroku apps, and GitHub repositories as
    # "owner/name" or "owner/name:environment" (a deployment environment of that repository).
    heroku_apps: tuple[str, ...] = ()
    github: tuple[str, ...] = ()


def spelling_key(name: str) -> str:
    """What two spellings of one name share: lower case, runs of anything but letters and
    digits as one "-" ("Checkout API", "checkout_api" and "checkout-api" are one key)."""
    return _NOT_WORD.sub("-", name.lower()).strip("-")


def canonical_service(names: Mapping[str, str], service: str) -> str:
    """The catalog's name for `service`, or `service` unchanged when the catalog does not
    know it (names: spelling key -> canonical name, RuleSet.service_names)."""
    if not service or not names:
        return service
    return names.get(spelling_key(service), service)


def with_canonical_service(labels: dict[str, str], names: Mapping[str, str]) -> dict[str, str]:
    """Alert labels whose `service` is the catalog's name: routes, group keys, inhibition and
    silences all see one name per service."""
    service = labels.get("service", "")
    canonical = canonical_service(names, service)
    return labels if canonical == service else labels | {"service": canonical}
