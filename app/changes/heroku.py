"""Heroku app webhooks, entity `api:release` (devcenter.heroku.com/articles/app-webhooks).

Signature: `Heroku-Webhook-Hmac-SHA256` is the base64 HMAC-SHA256 of the raw body with the
webhook's secret (app-webhooks, "Securing webhook requests"; addon-webhooks: "Deliveries will
set the HMAC-SHA256 of the body using this secret as the Heroku-Webhook-Hmac-SHA256 header").
HEROKU_WEBHOOK_SECRET may hold several, comma-separated, while a secret is rotated.

Fields read (devcenter.heroku.com/articles/webhook-events, api:release; the release attributes
are the Platform API's Release, devcenter.heroku.com/articles/platform-api-reference#release):
`resource` (the entity: "release"), `action` (create | update), `data.app.name` and
`data.app.id`, `data.version` (the number `heroku releases` shows as v52), `data.status`
(pending | succeeded | failed), `data.description` ("Deploy 1a2b3c4d", "Set FOO config vars",
"Rollback to v51"), `data.user.email` (who released), `data.updated_at` / `data.created_at`,
`actor.email`, `webhook_metadata.delivery.id` (the same for every attempt at one delivery),
and the event `id`. A release is recorded once it has succeeded: Heroku first sends a
`create` (pending while a release phase runs) and an `update` when it ends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, ClassVar

from app.changes.model import Change, ParsedChange, clean, heroku_rollback
from app.errors import PayloadError, Unauthorized
from app.sources._fields import Fields
from app.sources._signing import require_configured

SIGNATURE_HEADER = "Heroku-Webhook-Hmac-SHA256"
SHA256_BASE64_CHARS = 44  # 32 bytes in base64, with its one "=" of padding
NAME = "heroku"


class HerokuSource:
    name: ClassVar[str] = NAME
    delivery_identity: ClassVar[str] = "webhook_metadata.delivery.id, else the event id (signed)"

    def __init__(self, secrets: tuple[str, ...], insecure_dev: bool = False) -> None:
        self._secrets = secrets
        self._insecure_dev = insecure_dev

    def verify_headers(self, headers: Mapping[str, str]) -> None:
        if self._must_verify():
            _signature(headers)

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        if not self._must_verify():
            return
        provided = _signature(headers)
        matched = False
        for secret in self._secrets:  # every secret, so timing does not tell which matched
            expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
            matched |= hmac.compare_digest(expected, provided)
        if not matched:
            raise Unauthorized(
                f"{NAME}: signature in {SIGNATURE_HEADER} does not match the request body",
                source=NAME,
            )

    def _must_verify(self) -> bool:
        return require_configured(
            NAME, "HEROKU_WEBHOOK_SECRET", bool(self._secrets), self._insecure_dev
        )

    def parse(self, headers: Mapping[str, str], payload: Any) -> ParsedChange:
        fields = Fields(NAME, payload)
        resource = fields.word("resource")
        action = fields.text("action", 40)
        event_type = f"api:{resource} {action}".strip()
        delivery = fields.ident("webhook_metadata.delivery.id", required=False) or fields.ident(
            "id"
        )
        if resource != "release":
            return ParsedChange(
                event_type, delivery, ignored_reason=f"{event_type}: only api:release is read"
            )
        status = fields.text("data.status", 40)
        if status != "succeeded":
            return ParsedChange(
                event_type,
                delivery,
                ignored_reason=f"release is {status or 'without status'}: recorded once it "
                "has succeeded",
            )
        return ParsedChange(event_type, delivery, _release(fields))


def _release(fields: Fields) -> Change:
    app = clean(fields.word("data.app.name"), 100)
    number = fields.ident("data.version")
    if not number.isdigit():
        raise PayloadError(NAME, "data.version", "a whole number", got=repr(number[:20]))
    version = f"v{int(number)}"
    description = clean(fields.text("data.description", 500))
    # A succeeded release went live when it was last updated (its release phase ended).
    when = fields.timestamp("data.updated_at") or fields.timestamp("data.created_at")
    if when is None:
        raise PayloadError(NAME, "data.created_at", "the release's time", got="nothing")
    return Change(
        source=NAME,
        identity=f"{fields.ident('data.app.id', required=False) or app}:{version}",
        app=app,
        version=version,
        when=when,
        description=description,
        who=clean(fields.text("data.user.email") or fields.text("actor.email"), 200),
        link=f"https://dashboard.heroku.com/apps/{app}/activity",
        rollback=heroku_rollback(app, version),
        kind=_kind(description),
    )


def _kind(description: str) -> str:
    """What Heroku's own description says the release was (webhook-events examples)."""
    if description.startswith("Rollback to"):
        return "rollback"
    if description.endswith("config vars") or "add-on" in description:
        return "config"
    return "release"


def _signature(headers: Mapping[str, str]) -> bytes:
    value = headers.get(SIGNATURE_HEADER, "").strip()
    if not value:
        raise Unauthorized(f"{NAME}: missing signature header {SIGNATURE_HEADER}", source=NAME)
    if len(value) != SHA256_BASE64_CHARS or not value.isascii():
        raise Unauthorized(
            f"{NAME}: {SIGNATURE_HEADER} is not a base64 HMAC-SHA256 signature", source=NAME
        )
    return value.encode("ascii")
