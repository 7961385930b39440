"""The last check before text reaches a public channel (status page, X): finds internal
details (hosts, addresses, people, services) and anything that looks like a secret.

Pure: no IO. A rule may allow "hosts", "services" or "people" on public channels
(NotificationContext.public); nothing ever allows a secret. Lives in app/ because the status
page guards its text too (app/messages: shared by the pages and the notification jobs).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

REDACTED = "[redacted]"


class Category(StrEnum):
    HOSTS = "hosts"  # hostnames, IP addresses, internal links
    SERVICES = "services"  # the incident's service names
    PEOPLE = "people"  # names of responders, email addresses
    SECRETS = "secrets"  # tokens and keys: never allowed


@dataclass(frozen=True, slots=True)
class Finding:
    category: Category | None  # None: a harmless span (a public link) that hides matches in it
    kind: str  # what it looks like, for the error message: "IPv4 address", "token", ...
    text: str
    start: int
    end: int

    def describe(self) -> str:
        return f"{self.kind} {self.text!r} ({self.category})"


@dataclass(frozen=True, slots=True)
class Known:
    """Names the context tells us are internal, and the hosts whose links are public."""

    people: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    public_hosts: tuple[str, ...] = ()


class PublicLeak(ValueError):
    def __init__(self, findings: list[Finding], where: str = "") -> None:
        super().__init__(
            (f"{where}: " if where else "")
            + "internal details in public text: "
            + "; ".join(f.describe() for f in findings)
        )
        self.findings = findings
        self.where = where


_TOKENS = [  # (kind, pattern); vendor prefixes first, then shapes that are rarely prose
    ("Stripe key", r"\b[spr]k_(?:live|test)_[A-Za-z0-9]{8,}"),
    ("Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{8,}"),
    ("AWS access key", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    ("GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
    ("GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
    ("bearer token", r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    ("JWT", r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ("hex token", r"\b[0-9a-fA-F]{32,}\b"),
    (
        "base64 token",
        (
            r"(?<![A-Za-z0-9+/_-])(?=[A-Za-z0-9+/_-]*[0-9])(?=[A-Za-z0-9+/_-]*[a-z])"
            r"(?=[A-Za-z0-9+/_-]*[A-Z])[A-Za-z0-9+/_-]{32,}={0,2}"
        ),
    ),
]
# Lower-case only: "fixed.It" in prose is a typo, "db.internal" is a host.
_HOST_SUFFIX = (
    "com|net|org|io|dev|app|co|cloud|ai|internal|local|localdomain|lan|corp|intra"
    "|intranet|svc|cluster|home|uk|de|fr|nl|eu|jp|in|au|ca|us|me"
)
_HOST_PATTERNS = [
    ("URL", r"\bhttps?://[^\s<>\"')\]]+"),
    ("email address", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ("hostname", rf"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_HOST_SUFFIX})\b(?![.-]\w)"),
    ("IPv4 address", r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\w)"),
    ("IPv6 address", r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])"),
    ("EC2 instance", r"\bi-[0-9a-f]{8,17}\b"),
    ("pod name", r"\b[a-z][a-z0-9-]*-[a-f0-9]{8,10}-[a-z0-9]{5}\b"),
    ("hostname", r"\b[a-z][a-z0-9]*(?:-[a-z0-9]+)*-\d+[a-z]?\b"),  # web-03, ip-10-0-0-1
]
# Words shaped like "web-03" that are not hosts.
_NOT_HOSTS = frozenset(
    {
        "utf-8",
        "utf-16",
        "utf-32",
        "sha-1",
        "sha-256",
        "sha-512",
        "iso-8859-1",
        "covid-19",
        "base-64",
        "mp-3",
        "p-1",
        "h-2",
    }
)
_COMPILED = [(Category.SECRETS, kind, re.compile(p)) for kind, p in _TOKENS] + [
    (Category.HOSTS, kind, re.compile(p)) for kind, p in _HOST_PATTERNS
]


def scan(text: str, known: Known = Known(), allowed: Iterable[str] = ()) -> list[Finding]:
    """Every internal detail in `text` that `allowed` does not permit, in order, without
    overlaps (the earliest, then longest, match wins)."""
    permitted = {Category(name) for name in allowed} - {Category.SECRETS}
    found = sorted(_candidates(text, known), key=lambda f: (f.start, f.start - f.end))
    kept: list[Finding] = []
    for finding in found:
        if not kept or finding.start >= kept[-1].end:
            kept.append(finding)
    return [f for f in kept if f.category is not None and f.category not in permitted]


def redact(text: str, findings: list[Finding]) -> str:
    """`text` with each finding replaced by [redacted]."""
    for finding in sorted(findings, key=lambda f: f.start, reverse=True):
        text = text[: finding.start] + REDACTED + text[finding.end :]
    return text


def ensure_public(text: str, known: Known = Known(), allowed: Iterable[str] = ()) -> str:
    """Raises:
    PublicLeak: `text` holds an internal detail that `allowed` does not permit."""
    findings = scan(text, known, allowed)
    if findings:
        raise PublicLeak(findings)
    return text


def _candidates(text: str, known: Known) -> Iterator[Finding]:
    for category, kind, pattern in _COMPILED:
        for match in pattern.finditer(text):
            yield from _classify(category, kind, match.group(), match.start(), known)
    for category, names in (
        (Category.PEOPLE, _people_names(known.people)),
        (Category.SERVICES, known.services),
        (Category.HOSTS, known.hosts),
    ):
        for name in names:
            for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text):
                yield Finding(category, category.removesuffix("s"), name, *match.span())


def _classify(
    category: Category, kind: str, text: str, start: int, known: Known
) -> Iterator[Finding]:
    """Turn a pattern match into a finding, or into a harmless span that masks the ones inside
    it (a link to the public status page; version numbers that look like addresses)."""
    if kind == "URL":
        text = text.rstrip(".,;:!?")
        public = (urlsplit(text).hostname or "") in known.public_hosts
        yield Finding(None if public else Category.HOSTS, "link", text, start, start + len(text))
    elif kind == "email address":
        yield Finding(Category.PEOPLE, kind, text, start, start + len(text))
    elif _harmless(kind, text):
        return
    elif kind == "hostname" and text in known.public_hosts:
        yield Finding(None, kind, text, start, start + len(text))
    else:
        yield Finding(category, kind, text, start, start + len(text))


def _harmless(kind: str, text: str) -> bool:
    return (kind.startswith("IPv") and not _is_ip(text)) or (
        kind == "hostname" and text in _NOT_HOSTS
    )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return ":" not in text or text.count(":") >= 2 and any(c.isalnum() for c in text)


def _people_names(people: Iterable[str]) -> list[str]:
    """Full names and first names ("Marco Bianchi", "Marco"): updates often use either."""
    names = set()
    for person in people:
        names.add(person)
        first = person.split()[0] if person.split() else ""
        if len(first) >= 3 and first[0].isupper():
            names.add(first)
    return sorted(names, key=len, reverse=True)


def known_from_vars(template_vars: dict[str, Any]) -> Known:
    """What a notification context tells us is internal, from its template variables."""
    incident, alerts = template_vars["incident"], template_vars["alerts"]
    update = template_vars.get("update") or {}
    people = [incident.get("commander"), update.get("by")]
    services = [incident.get("service")] + [a.get("service") for a in alerts]
    hosts = [a.get("host") for a in alerts]
    status_page = template_vars["links"].get("status_page") or ""
    return Known(
        people=_names(people),
        services=_names(services),
        hosts=_names(hosts),
        public_hosts=_names([urlsplit(status_page).hostname]),
    )


def _names(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in values if v}))
