"""Who may see the internal pages, and proof that a form came from them.

Sign in with the API token, either through the login form (a signed Flask session cookie) or
as the password of HTTP Basic auth (curl, scripts). The session key is derived from
KLAXON_API_TOKEN, so rotating the token signs everyone out. Every form carries a per-session
CSRF token in a hidden field, checked on every POST (also under Basic auth, which browsers
send cross-site on their own). Both ways check the token through app/token_guard.py, which
refuses an address that sent too many wrong ones.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, request, session

from app.token_guard import token_accepted

SESSION_LIFETIME = timedelta(hours=12)  # about one on-call shift
CSRF_FIELD = "csrf_token"


def configure(app: Flask, api_token: str, secure_cookie: bool) -> None:
    # Without a token nobody can sign in; a random key keeps the session machinery working.
    app.secret_key = (
        hmac.new(api_token.encode(), b"klaxon pages session v1", hashlib.sha256).hexdigest()
        if api_token
        else secrets.token_hex(32)
    )
    app.config.update(
        SESSION_COOKIE_NAME="klaxon_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookie,  # Settings.session_cookie_secure
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )


def signed_in() -> bool:
    """A signed-in session, or the token as the Basic password (raises TooManyAttempts for an
    address past the wrong-token limit; a session is never refused)."""
    if session.get("signed_in") is True:
        return True
    basic = request.authorization
    return bool(
        basic and basic.type == "basic" and token_accepted(basic.password or "", via="basic")
    )


def sign_in() -> None:
    session.clear()  # a fresh session (and CSRF token) on every sign-in: no fixation
    session.permanent = True
    session["signed_in"] = True
    csrf_token()


def csrf_token() -> str:
    """The session's CSRF token, created on first use; forms put it in a hidden field."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return str(session[CSRF_FIELD])


def csrf_ok() -> bool:
    sent, expected = request.form.get(CSRF_FIELD, ""), session.get(CSRF_FIELD, "")
    return bool(expected) and hmac.compare_digest(sent.encode(), str(expected).encode())


AFTER_SIGN_IN = "/incidents"
MAX_NEXT_LENGTH = 2000


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path on this site, else /incidents (no open
    redirect). Browsers drop tabs and newlines anywhere in a URL and read a backslash as a
    slash, so `/<tab>/evil.example` and `/\\evil.example` are //evil.example to them: any
    control character (a CR/LF would also break the Location header), backslash, scheme or
    host refuses the target, as does a leading `//`."""
    if not target or len(target) > MAX_NEXT_LENGTH:
        return AFTER_SIGN_IN
    if not target.isprintable() or "\\" in target:  # C0, DEL, C1, line/paragraph separators
        return AFTER_SIGN_IN
    if not target.startswith("/") or target.startswith("//"):
        return AFTER_SIGN_IN
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return AFTER_SIGN_IN
    return target
