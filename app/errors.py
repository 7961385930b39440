"""Klaxon's exceptions: one small tree, mapped to HTTP answers in one place (app/http_errors.py).

    KlaxonError
    ├── RequestRejected            anything a client sent that we refuse (4xx)
    │   ├── UnknownSource          404  no such webhook source
    │   ├── NotFound               404  no such incident / resource
    │   ├── Unauthorized           401  bad or missing signature, token or API token
    │   ├── PayloadTooLarge        413  body over KLAXON_MAX_BODY
    │   ├── UnsupportedMediaType   415  not JSON
    │   ├── PayloadError           400  malformed or unrecognised payload, names the field
    │   ├── Conflict               409  a valid request the current state does not allow
    │   └── TooManyAttempts        429  too many wrong API tokens from one address (Retry-After)
    ├── StorageUnavailable         503  Redis down, full, read-only ...: the sender should retry
    ├── ConfigError                     invalid environment (collected, raised once)
    ├── RulesError                      invalid rules directory (every problem, file:line:col)
    └── CorpusError                     alerts `klaxon rules diff` cannot replay (file:line)

Messages say what was expected, what was got and what to do. They never contain a secret,
a signature or a request body.
"""

from __future__ import annotations

from typing import Any


class KlaxonError(Exception):
    """Base of every error Klaxon raises on purpose."""


class RequestRejected(KlaxonError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}

    def http_headers(self) -> dict[str, str]:
        """Headers the answer carries beside the body, as JSON or as a page."""
        return {}


class UnknownSource(RequestRejected):
    status = 404
    code = "unknown_source"


class NotFound(RequestRejected):
    status = 404
    code = "not_found"


class Unauthorized(RequestRejected):
    status = 401
    code = "unauthorized"


class PayloadTooLarge(RequestRejected):
    status = 413
    code = "payload_too_large"


class RequestTimeout(RequestRejected):
    """The body did not arrive within KLAXON_BODY_TIMEOUT (app/front.py)."""

    status = 408
    code = "request_timeout"

    def http_headers(self) -> dict[str, str]:
        return {"Connection": "close"}  # what is left of the body is not waited for


class UnsupportedMediaType(RequestRejected):
    status = 415
    code = "unsupported_media_type"


class Conflict(RequestRejected):
    status = 409
    code = "conflict"


class IncompleteResolution(RequestRejected):
    """A resolution without what the severity's policy says it must state (rules/
    severities.yml comms.resolution_must_state); `missing` names the fields."""

    status = 400
    code = "incomplete_resolution"

    def __init__(self, severity: str, missing: list[str]) -> None:
        super().__init__(
            f"a {severity} resolution must state {', '.join(missing)} "
            "(rules: severities.comms.resolution_must_state)",
            missing=missing,
        )
        self.missing = missing


class TooManyAttempts(RequestRejected):
    """The client's address sent too many wrong tokens; nothing it sends is checked until the
    window ends (app/token_guard.py)."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"too many wrong tokens from this address; try again in {retry_after_seconds} seconds",
            retry_after=retry_after_seconds,
        )
        self.retry_after_seconds = retry_after_seconds

    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class PayloadError(RequestRejected):
    """A payload that is not what its source sends; `field` is a dotted path into the body."""

    status = 400
    code = "invalid_payload"

    def __init__(
        self,
        source: str,
        field: str,
        expected: str,
        got: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"{field}: " if field else ""
        message = f"{source}: {where}expected {expected}"
        if got is not None:
            message += f", got {got}"
        if hint:
            message += f". {hint}"
        super().__init__(
            message, source=source, field=field or None, expected=expected, got=got, hint=hint
        )


class StorageUnavailable(KlaxonError):
    """Redis cannot serve us now; `reason` says which condition (unreachable, out_of_memory,
    read_only_replica, loading ...: app/store/connection.py) for the log and /readyz."""

    status = 503
    code = "storage_unavailable"
    retry_after_seconds = 5

    def __init__(self, message: str, reason: str = "unreachable") -> None:
        super().__init__(message)
        self.reason = reason


class ConfigError(KlaxonError):
    """Every problem with the environment, reported together."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


class RulesError(KlaxonError):
    """Every problem with a rules directory, each already formatted as file:line:col: ..."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class CorpusError(KlaxonError):
    """An alert `klaxon rules diff` was asked to replay and cannot read: a rule test whose
    alert cannot be built, a fixture its parser refuses, a line of an alerts file."""
