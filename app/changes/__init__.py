"""Changes: what shipped, and how to undo it. A change is a release, a deploy, a flag flip or a
config change that may have caused an incident; Klaxon records them from three places
(Heroku's and GitHub's webhooks, POST /api/changes and `klaxon change record`) in one shape.

Change senders follow the shape of app/sources/ (one module each, `verify_headers`, `verify`
on the raw bytes, `parse` -> ParsedChange), but they are not alert sources: a change never
opens an incident, it is a suspect. No IO here; the store is app/store/changes.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from app.changes.model import Change, ParsedChange
from app.settings import Settings

__all__ = ["Change", "ChangeSource", "ParsedChange", "build_change_sources"]


class ChangeSource(Protocol):
    name: ClassVar[str]
    delivery_identity: ClassVar[str]  # what names one delivery, and why it cannot be forged

    def verify_headers(self, headers: Mapping[str, str]) -> None:
        """Raise Unauthorized for a missing or malformed signature (before the body is read)."""
        ...

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise Unauthorized unless the raw body is signed with a configured secret."""
        ...

    def parse(self, headers: Mapping[str, str], payload: Any) -> ParsedChange:
        """Translate a verified payload; raise PayloadError naming the bad field."""
        ...


def build_change_sources(settings: Settings) -> dict[str, ChangeSource]:
    from app.changes import github, heroku

    sources: list[ChangeSource] = [
        heroku.HerokuSource(settings.heroku_webhook_secrets, settings.insecure_dev),
        github.GitHubSource(settings.github_webhook_secrets, settings.insecure_dev),
    ]
    return {source.name: source for source in sources}
