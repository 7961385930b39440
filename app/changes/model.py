"""The change model: one shape for a Heroku release, a GitHub deployment or release, and
anything recorded through the API or the command line. No IO."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from app import plaintext

# A Heroku release version as `heroku releases` shows it ("v52"), and the number in it.
_HEROKU_VERSION = re.compile(r"^v?(\d{1,9})$")
MAX_TEXT = 500  # description, who, link, rollback: a line on a page, not a document


@dataclass(frozen=True, slots=True)
class Change:
    """One change to one deployable thing.

    source:   heroku | github | api (who told Klaxon)
    identity: what names this change at its source (Heroku app + release version, a GitHub
              deployment id): the same change told twice (Heroku's release `create` then
              `update`) is stored once
    service:  the catalog's service ("" until the catalog maps it: app/changes/mapping.py)
    app:      the Heroku app, or the GitHub repository (owner/name)
    environment: GitHub's deployment environment ("" when the source has none)
    when:     epoch seconds the change took effect
    rollback: the command that undoes it ("" when nobody knows one)
    """

    source: str
    identity: str
    app: str
    version: str
    when: float
    description: str = ""
    who: str = ""
    link: str = ""
    rollback: str = ""
    service: str = ""
    environment: str = ""
    kind: str = "release"  # release | deploy | config | flag | other

    @property
    def id(self) -> str:
        """A short stable id for the change: the same identity always maps to the same id."""
        digest = hashlib.blake2b(f"{self.source}\x00{self.identity}".encode(), digest_size=8)
        return f"CHG-{digest.hexdigest()}"

    def with_service(self, service: str) -> Change:
        return replace(self, service=service)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})

    def summary(self) -> str:
        """One line for a timeline or a page: "checkout v52 by ann@example.com: Deploy 1a2b3c"."""
        by = f" by {self.who}" if self.who else ""
        what = f": {self.description}" if self.description else ""
        return f"{self.service or self.app} {self.version}{by}{what}"


@dataclass(frozen=True, slots=True)
class ParsedChange:
    """What one change delivery said: the change in it, or why it is ignored."""

    event_type: str
    delivery_id: str
    change: Change | None = None
    ignored_reason: str = ""


def is_email(text: str) -> bool:
    """An address a pager knows a person by (Heroku's `user.email`), not a login."""
    name, at, domain = text.partition("@")
    return bool(name and at and "." in domain.strip(".")) and not any(c.isspace() for c in text)


def heroku_rollback(app: str, version: str) -> str:
    """`heroku rollback v<previous> -a <app>`: Heroku's rollback to the release before this
    one (devcenter.heroku.com/articles/releases#rollback); "" for v1, which has none."""
    match = _HEROKU_VERSION.match(version)
    if not match or int(match.group(1)) <= 1 or not app:
        return ""
    return f"heroku rollback v{int(match.group(1)) - 1} -a {app}"


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Outside text on one line, without control characters, cut to `limit`."""
    line = " ".join(plaintext.clean(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
