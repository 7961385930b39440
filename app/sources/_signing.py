"""Signature and shared-token checks shared by the sources. Constant-time, over raw bytes;
errors name the source and the header, never the secret or the signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from app.errors import Unauthorized

TOKEN_HEADER = "X-Klaxon-Token"


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def require_configured(source: str, variable: str, configured: bool, insecure_dev: bool) -> bool:
    """True when the check must run; fail closed when the secret is missing (design.md)."""
    if configured:
        return True
    if insecure_dev:
        return False
    raise Unauthorized(
        f"{source} webhooks are refused: {variable} is not set on this Klaxon (fail closed)",
        source=source,
    )


def verify_hmac(
    source: str, header: str, provided: Iterable[str], secrets: Iterable[str], message: bytes
) -> None:
    """Accept when any provided hex signature matches any secret's HMAC of `message`."""
    # As bytes: compare_digest refuses str with non-ASCII characters (a header is latin-1).
    candidates = [p.strip().lower().encode("utf-8", "replace") for p in provided if p.strip()]
    if not candidates:
        raise Unauthorized(f"{source}: missing signature header {header}", source=source)
    for secret in secrets:
        expected = hmac_sha256_hex(secret, message).encode("ascii")
        for candidate in candidates:
            if hmac.compare_digest(expected, candidate):
                return
    raise Unauthorized(
        f"{source}: signature in {header} does not match the request body", source=source
    )


def unix_seconds(source: str, header: str, value: str) -> float:
    """A header holding unix seconds (Sentry, Grafana); Unauthorized when it is not one."""
    value = value.strip()
    if not value.isdigit() or len(value) > 12:
        raise Unauthorized(
            f"{source}: missing or malformed timestamp header {header} (unix seconds expected)",
            source=source,
        )
    return float(value)


def require_fresh(source: str, header: str, at: float, now: float, skew: float) -> None:
    """Refuse a request whose send time is more than `skew` seconds from the app clock: a
    captured request replayed later, or a clock to fix. `skew` 0 turns the check off."""
    if skew <= 0 or abs(now - at) <= skew:
        return
    direction = "old" if at < now else "in the future"
    raise Unauthorized(
        f"{source}: timestamp in {header} is {abs(now - at):.0f} s {direction}, more than the "
        f"{skew:.0f} s allowed (KLAXON_WEBHOOK_CLOCK_SKEW): a replayed request, or a sender "
        f"whose clock is wrong",
        source=source,
    )


def presented_tokens(headers: Mapping[str, str], query_token: str | None = None) -> list[str]:
    """Tokens a sender may present: X-Klaxon-Token, Bearer, Basic password, or ?token=."""
    tokens = [headers.get(TOKEN_HEADER, "")]
    scheme, _, value = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        tokens.append(value.strip())
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, UnicodeDecodeError, or non-ASCII input
            decoded = ""
        tokens.append(decoded.partition(":")[2])
    if query_token:
        tokens.append(query_token)
    return [t for t in tokens if t]


def verify_token(source: str, expected: str, presented: list[str]) -> None:
    if not presented:
        raise Unauthorized(
            f"{source}: missing token: send it in the {TOKEN_HEADER} header "
            f"or as the HTTP Basic auth password",
            source=source,
        )
    expected_bytes = expected.encode("utf-8")
    # Compare every candidate so timing does not reveal which header matched.
    matched = False
    for token in presented:
        matched |= hmac.compare_digest(token.encode("utf-8"), expected_bytes)
    if not matched:
        raise Unauthorized(f"{source}: token does not match", source=source)
