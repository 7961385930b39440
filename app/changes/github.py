"""GitHub repository webhooks: `deployment_status` and `release` events, and `ping`
(docs.github.com/en/webhooks/webhook-events-and-payloads).

Signature: `X-Hub-Signature-256` is "sha256=" and the hex HMAC-SHA256 of the raw body with the
webhook's secret (docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
GITHUB_WEBHOOK_SECRET may hold several, comma-separated, while a secret is rotated.
`X-GitHub-Event` names the event and `X-GitHub-Delivery` the delivery (a GUID a redelivery
keeps); neither is signed, so the change's identity (a deployment status id, a release id,
both in the signed body) is what makes a replay with a new delivery id a duplicate.

Fields read, deployment_status: `deployment_status.state` (error | failure | inactive |
in_progress | queued | pending | success: only success is a change), `.id`, `.environment`,
`.created_at`, `.target_url` (and `.log_url`), `.creator.login`, `.description`;
`deployment.id`, `.sha`, `.ref`, `.description`, `.creator.login`; `repository.full_name`,
`repository.html_url`. release (action `published`): `release.id`, `.tag_name`, `.name`,
`.body`, `.html_url`, `.published_at`, `.author.login`, `sender.login`. ping: `hook_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from app.changes.model import Change, ParsedChange, clean
from app.sources._fields import Fields
from app.sources._signing import require_configured, signature_candidates, verify_hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
NAME = "github"


class GitHubSource:
    name: ClassVar[str] = NAME
    delivery_identity: ClassVar[str] = (
        "X-GitHub-Delivery; the deployment status or release id (signed) names the change"
    )

    def __init__(self, secrets: tuple[str, ...], insecure_dev: bool = False) -> None:
        self._secrets = secrets
        self._insecure_dev = insecure_dev

    def verify_headers(self, headers: Mapping[str, str]) -> None:
        if self._must_verify():
            signature_candidates(NAME, SIGNATURE_HEADER, [_hex(headers)])

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        if self._must_verify():
            verify_hmac(NAME, SIGNATURE_HEADER, [_hex(headers)], self._secrets, body)

    def _must_verify(self) -> bool:
        return require_configured(
            NAME, "GITHUB_WEBHOOK_SECRET", bool(self._secrets), self._insecure_dev
        )

    def parse(self, headers: Mapping[str, str], payload: Any) -> ParsedChange:
        fields = Fields(NAME, payload)
        event = clean(headers.get(EVENT_HEADER, ""), 60)
        delivery = clean(headers.get(DELIVERY_HEADER, ""), 100)
        parse = _EVENTS.get(event)
        if parse is None:
            reason = f"event {event or '(no X-GitHub-Event)'}: only deployment_status and release"
            return ParsedChange(event, delivery, ignored_reason=reason)
        return parse(fields, event, delivery)


def _ping(fields: Fields, event: str, delivery: str) -> ParsedChange:
    hook = fields.ident("hook_id", required=False)
    return ParsedChange(event, delivery, ignored_reason=f"ping: webhook {hook} reaches Klaxon")


def _deployment_status(fields: Fields, event: str, delivery: str) -> ParsedChange:
    state = fields.text("deployment_status.state", 40)
    if state != "success":
        return ParsedChange(
            event, delivery, ignored_reason=f"deployment is {state}: recorded on success"
        )
    repo = clean(fields.word("repository.full_name"), 200)
    sha = fields.text("deployment.sha", 80)
    ref = clean(fields.text("deployment.ref", 200))
    environment = clean(fields.text("deployment_status.environment", 100)) or clean(
        fields.text("deployment.environment", 100)
    )
    when = fields.timestamp("deployment_status.created_at") or fields.timestamp(
        "deployment.updated_at"
    )
    short = sha[:7]
    version = f"{ref}@{short}" if ref and short and ref != sha else short or ref
    description = fields.text("deployment_status.description", 500) or fields.text(
        "deployment.description", 500
    )
    return ParsedChange(
        event,
        delivery,
        Change(
            source=NAME,
            identity=f"deployment:{fields.ident('deployment.id')}",
            app=repo,
            version=version,
            when=when or 0.0,
            description=clean(description) or f"deployed {version} to {environment}",
            who=clean(
                fields.text("deployment.creator.login")
                or fields.text("deployment_status.creator.login"),
                200,
            ),
            link=_web_link(fields.text("deployment_status.target_url", 500))
            or _commit_link(fields, sha),
            environment=environment,
            kind="deploy",
        ),
    )


def _release(fields: Fields, event: str, delivery: str) -> ParsedChange:
    action = fields.text("action", 40)
    if action != "published":
        return ParsedChange(
            f"release {action}", delivery, ignored_reason=f"release {action}: only published"
        )
    tag = clean(fields.word("release.tag_name"), 200)
    name = clean(fields.text("release.name", 200))
    return ParsedChange(
        f"release {action}",
        delivery,
        Change(
            source=NAME,
            identity=f"release:{fields.ident('release.id')}",
            app=clean(fields.word("repository.full_name"), 200),
            version=tag,
            when=fields.timestamp("release.published_at")
            or fields.timestamp("release.created_at")
            or 0.0,
            description=name or clean(fields.text("release.body", 500)) or f"release {tag}",
            who=clean(fields.text("release.author.login") or fields.text("sender.login"), 200),
            link=_web_link(fields.text("release.html_url", 500)),
            kind="release",
        ),
    )


def _hex(headers: Mapping[str, str]) -> str:
    return headers.get(SIGNATURE_HEADER, "").strip().removeprefix("sha256=")


def _web_link(url: str) -> str:
    """Only http(s) links reach a page (a javascript: link would run on click)."""
    return url if url.startswith(("https://", "http://")) and len(url) <= 500 else ""


def _commit_link(fields: Fields, sha: str) -> str:
    repo_url = _web_link(fields.text("repository.html_url", 300))
    return f"{repo_url}/commit/{sha}" if repo_url and sha else repo_url


_EVENTS = {"ping": _ping, "deployment_status": _deployment_status, "release": _release}
