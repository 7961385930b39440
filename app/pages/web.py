"""What every page shares: HTML error pages, security headers, and validation of form text."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template
from werkzeug.exceptions import HTTPException

from app import plaintext
from app.errors import RequestRejected

# No scripts at all; styles only from our own stylesheet; forms only post back to us.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def error_page(error: Exception) -> tuple[str, int, dict[str, str]]:
    """A rejected request or HTTP error as a page, in the same words the API would use, and
    with the headers a rejection carries (Retry-After)."""
    if isinstance(error, RequestRejected):
        status, title, message = error.status, error.code.replace("_", " "), error.message
        headers = error.http_headers()
    elif isinstance(error, HTTPException):
        status, title, message = error.code or 500, error.name, error.description or ""
        headers = {}
    else:  # registered only for the two types above
        raise error
    return (
        render_template("error.html.j2", status=status, title=title.capitalize(), message=message),
        status,
        headers,
    )


def security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors, for old browsers
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def form_text(
    form: Any, name: str, limit: int, errors: dict[str, str], label: str, required: bool = False
) -> str:
    """One trimmed text field; a problem is recorded in `errors` under the field's name."""
    value = plaintext.clean(str(form.get(name, ""))).strip()  # no control characters
    if required and not value:
        errors[name] = f"{label} is required."
    elif len(value) > limit:
        errors[name] = f"{label} must be at most {limit} characters (got {len(value)})."
    return value


def form_choice(
    form: Any,
    name: str,
    allowed: list[str],
    errors: dict[str, str],
    label: str,
    required: bool = False,
) -> str:
    value = form_text(form, name, 40, errors, label, required)
    if value and value not in allowed and name not in errors:
        errors[name] = f"{label} must be one of {', '.join(allowed)}."
    return value
