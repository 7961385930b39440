"""Reading vendor payloads defensively: every accessor names the dotted path it read, so a bad
payload becomes a PayloadError saying which field was wrong and what was expected.

Vendors disagree with themselves about types (Sentry and Opsgenie ids are sometimes ints,
sometimes strings; Opsgenie `updatedAt` is nanoseconds as a number or a string; Datadog `$DATE`
is epoch ms as a string), so ids are normalised to strings and timestamps to epoch seconds.
"""

from __future__ import annotations

import functools
import hashlib
import math
from datetime import datetime
from typing import Any

from app.errors import PayloadError
from app.models import Link

MAX_ID_CHARS = 512  # Opsgenie aliases go to 512; anything longer is not an id
MAX_TITLE_CHARS = 1024  # PagerDuty summary limit: nothing downstream can show more
MAX_TEXT_CHARS = 16_000  # descriptions; Opsgenie accepts 15,000
MAX_SHORT_CHARS = 512  # service, host, environment, tag values
MAX_TAGS = 200

_MISSING = object()
_MAX_EPOCH_NS = 253_402_300_799 * 10**9  # 9999-12-31T23:59:59Z: past it nothing can show a date


class Fields:
    """Typed, path-aware access to one payload of one source."""

    def __init__(self, source: str, payload: Any) -> None:
        if not isinstance(payload, dict):
            raise PayloadError(source, "", "a JSON object", got=_kind(payload))
        self.source = source
        self.payload = payload
        self.truncated: list[str] = []

    def raw(self, path: str, default: Any = _MISSING) -> Any:
        node: Any = self.payload
        parts = _split(path)
        for index, part in enumerate(parts):
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and part.isdigit():
                node = node[int(part)] if int(part) < len(node) else None
            else:
                raise PayloadError(
                    self.source, ".".join(parts[:index]), "an object", got=_kind(node)
                )
            if node is None:
                if default is _MISSING:
                    raise PayloadError(self.source, path, "a value", got="nothing")
                return default
        return node

    def obj(self, path: str, required: bool = True) -> dict[str, Any]:
        value = self.raw(path, _MISSING if required else {})
        if not isinstance(value, dict):
            raise PayloadError(self.source, path, "an object", got=_kind(value))
        return value

    def items(self, path: str) -> list[Any]:
        value = self.raw(path, [])
        if not isinstance(value, list):
            raise PayloadError(self.source, path, "a list", got=_kind(value))
        return value

    def ident(self, path: str, required: bool = True) -> str:
        """An id: a non-empty string or whole number, returned as a string."""
        value = self.raw(path, _MISSING if required else None)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise PayloadError(
                self.source, path, "an id (string or whole number)", got=_kind(value)
            )
        text = str(value).strip()
        if not text:
            if required:
                raise PayloadError(self.source, path, "a non-empty id", got="an empty string")
            return ""
        if len(text) > MAX_ID_CHARS:
            raise PayloadError(
                self.source,
                path,
                f"an id of at most {MAX_ID_CHARS} characters",
                got=f"{len(text)} characters",
            )
        return text

    def text(self, path: str, limit: int = MAX_SHORT_CHARS, default: str = "") -> str:
        """Free text, cut to `limit` (recorded in `truncated`), never rejected for its length."""
        value = self.raw(path, default)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise PayloadError(self.source, path, "text", got=_kind(value))
        return self.clip(path, str(value), limit)

    def word(self, path: str, limit: int = 200) -> str:
        """A required, non-empty discriminator such as an event type or an action."""
        value = self.raw(path)
        if not isinstance(value, str) or not value.strip():
            raise PayloadError(self.source, path, "a non-empty string", got=_show(value))
        if len(value) > limit:
            raise PayloadError(
                self.source, path, f"at most {limit} characters", got=f"{len(value)} characters"
            )
        return value.strip()

    def clip(self, name: str, value: str, limit: int) -> str:
        if len(value) > limit:
            self.truncated.append(name)
            return value[: limit - 1] + "…"
        return value

    def choice(self, path: str, allowed: dict[str, Any], hint: str | None = None) -> Any:
        value = self.raw(path)
        if not isinstance(value, str) or value not in allowed:
            raise PayloadError(
                self.source, path, "one of " + ", ".join(allowed), got=_show(value), hint=hint
            )
        return allowed[value]

    def timestamp(self, path: str) -> float | None:
        value = self.raw(path, None)
        if value is None or value == "" or is_zero_time(value):
            return None
        seconds = parse_timestamp(value)
        if seconds is None:
            raise PayloadError(
                self.source, path, "a timestamp (ISO 8601 or epoch s/ms/ns)", got=_show(value)
            )
        return seconds


def parse_timestamp(value: Any) -> float | None:
    """Epoch seconds from ISO 8601 or epoch seconds/ms/µs/ns, given as number or string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            return _parse_iso(text)
    if not isinstance(value, (int, float)) or value < 0 or value > _MAX_EPOCH_NS:
        return None  # also keeps float() from overflowing on a 400-digit integer
    if not math.isfinite(value):
        return None
    # Epoch by magnitude: ns > 1e17, µs > 1e14, ms > 1e11 (good until the year 5138).
    for threshold, divisor in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if value >= threshold:
            return float(value) / divisor
    return float(value)


def is_zero_time(value: Any) -> bool:
    """Go's zero time.Time, which Alertmanager sends as endsAt for "not ended yet" (and, from
    some senders, on a resolved alert too): no time at all, not a bad one."""
    return isinstance(value, str) and value.strip().startswith("0001-01-01")


def _parse_iso(text: str) -> float | None:
    if is_zero_time(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # a wall-clock time without a zone is ambiguous; refuse to guess
    seconds = parsed.timestamp()
    return seconds if 0 <= seconds * 10**9 <= _MAX_EPOCH_NS else None


def tags_from_pairs(pairs: Any) -> dict[str, str]:
    """Tags from Sentry's [[key, value], ...] or a {key: value} map, stringified and capped."""
    items = pairs.items() if isinstance(pairs, dict) else pairs if isinstance(pairs, list) else []
    tags: dict[str, str] = {}
    for item in items:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            key, value = item
            if isinstance(key, str) and isinstance(value, (str, int, float, bool)):
                tags[key[:MAX_SHORT_CHARS]] = str(value)[:MAX_SHORT_CHARS]
        if len(tags) >= MAX_TAGS:
            break
    return tags


def tags_from_strings(values: Any) -> dict[str, str]:
    """Tags from "key:value" strings (Opsgenie list, Datadog comma string); bare tags map to ""."""
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, list):
        return {}
    tags: dict[str, str] = {}
    for value in values[:MAX_TAGS]:
        if not isinstance(value, str) or not value.strip():
            continue
        key, _, rest = value.strip().partition(":")
        tags[key[:MAX_SHORT_CHARS]] = rest[:MAX_SHORT_CHARS]
    return tags


def link(href: Any, text: str = "") -> tuple[Link, ...]:
    if isinstance(href, str) and href.startswith(("https://", "http://")):
        return (Link(href=href[:2048], text=text),)
    return ()


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@functools.lru_cache(maxsize=1024)
def _split(path: str) -> tuple[str, ...]:
    # Sources read the same dozen paths from every payload: split each once (~14 per request).
    return tuple(path.split("."))


def _kind(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value[:60] + ("…" if len(value) > 60 else ""))
    return _kind(value)
