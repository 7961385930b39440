"""Which service a change is to: the service catalog (rules/services.yml) names the Heroku
apps and GitHub repositories (or repository:environment) of each service; a Heroku app or a
repository the catalog does not name maps to the service spelled like it (the app's name, the
repository's name without its owner). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from app.changes.model import Change
from app.ruleset.services import Service, canonical_service, spelling_key


def service_for(change: Change, services: Mapping[str, Service], names: Mapping[str, str]) -> str:
    """The catalog's service for `change`; a service the change names itself (API, CLI) is
    only brought to its catalog spelling."""
    if change.source not in ("heroku", "github"):
        return canonical_service(names, change.service or change.app)
    for service in services.values():
        if _claims(service, change):
            return service.name
    default = change.app if change.source == "heroku" else change.app.rpartition("/")[2]
    return canonical_service(names, default)


def _claims(service: Service, change: Change) -> bool:
    if change.source == "heroku":
        return spelling_key(change.app) in {spelling_key(a) for a in service.heroku_apps}
    repo = change.app.lower()
    for entry in service.github:
        name, _, environment = entry.lower().partition(":")
        if name == repo and (not environment or environment == change.environment.lower()):
            return True
    return False
