"""The service catalog (`services:`): each service's canonical name, its team, its public
component(s), the other spellings sources use for it and label patterns for alerts that carry
no name the catalog knows. Normalising the service is what lets "Checkout API" from PagerDuty
and `checkout-api` from Datadog group, inhibit, route and go public as one service.

With a catalog, every alert maps to one of its services or to UNKNOWN; UNKNOWN never groups or
inhibits across sources (classify.py, policies.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.ruleset.matchers import Labels, Matcher, all_match

_NOT_WORD = re.compile(r"[^a-z0-9]+")

# The service of an alert the catalog does not know (only when there is a catalog).
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Service:
    name: str  # canonical
    team: str = ""
    aliases: tuple[str, ...] = ()
    components: tuple[str, ...] = ()  # Statuspage component ids its incidents affect
    # Each pattern is a set of matchers that must all match (like a route's match/matchers),
    # tried for alerts that name no service.
    patterns: tuple[tuple[Matcher, ...], ...] = ()
    pattern_locations: tuple[str, ...] = ()  # file:line of each pattern, for explain
    # Where its changes come from (issue 17): Heroku apps, and GitHub repositories as
    # "owner/name" or "owner/name:environment" (a deployment environment of that repository).
    heroku_apps: tuple[str, ...] = ()
    github: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceMapping:
    """How an alert's service was found: the canonical name and why (for explain)."""

    service: str
    how: str


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


def map_service(
    services: Mapping[str, Service], names: Mapping[str, str], labels: Labels
) -> ServiceMapping:
    """The catalog service of an alert (given as labels): its service name or an alias; for
    an alert that names no service, the first service whose pattern matches; else UNKNOWN. Without a catalog, the service as
    sent."""
    sent = labels.get("service", "")
    if not services:
        return ServiceMapping(sent, "no service catalog")
    by_name = names.get(spelling_key(sent)) if sent else None
    if by_name:
        how = "its name" if by_name == sent else f"'{sent}' is a spelling of it"
        return ServiceMapping(by_name, how)
    if sent:
        # A name the sender chose is stronger evidence than a title or tag heuristic: a
        # "checkout-db" alert must not become checkout-api because its title says checkout.
        return ServiceMapping(UNKNOWN, f"'{sent}' is not in the catalog")
    for service in services.values():
        for i, pattern in enumerate(service.patterns):
            if all_match(pattern, labels):
                return ServiceMapping(service.name, f"pattern at {service.pattern_locations[i]}")
    return ServiceMapping(UNKNOWN, "the alert names no service and no pattern matches")


def with_catalog_service(
    labels: dict[str, str], services: Mapping[str, Service], names: Mapping[str, str]
) -> dict[str, str]:
    """Alert labels whose `service` is the catalog's name (or UNKNOWN): routes, group keys,
    inhibition and silences all see one name per service."""
    mapped = map_service(services, names, labels).service
    if mapped == labels.get("service", ""):
        return labels
    return labels | {"service": mapped} if mapped else labels


def is_blank(name: str, value: str | None) -> bool:
    """Whether a label value says nothing for grouping and inhibition: empty, or the
    catalog's UNKNOWN service (two unknown services are not one service)."""
    return not value or (name == "service" and value == UNKNOWN)
