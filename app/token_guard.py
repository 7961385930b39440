"""The one check of KLAXON_API_TOKEN (the API's bearer token, the sign-in form and HTTP Basic
on the pages), behind a brute-force guard: each client address gets MAX_FAILURES wrong tokens
per window (app/store/token_failures.py), then 429 with Retry-After and its tokens are not
checked at all until the window ends, so guessing stops rather than slows.

The address is request.remote_addr: the client itself only when KLAXON_TRUSTED_PROXIES says
how many proxies append to X-Forwarded-For (Heroku's router: 1; app/__init__.py). Without it,
on Heroku every request comes from the router and one guesser would lock everyone out. IPv6
addresses count per /64, the block one subscriber is handed, so stepping through one's own
addresses does not buy a fresh budget.

When Redis cannot count, the token is checked anyway, with a log line (fail open): sign-in
itself needs no Redis, responders need the pages most while something is broken, and the
token is long and random (README: 48 hex digits), so an outage of the counter costs little;
failing closed would turn every Redis blip into a lockout of the people handling it.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

import redis
from flask import current_app, request

from app.errors import TooManyAttempts
from app.logs import log
from app.store.token_failures import TokenFailures

logger = logging.getLogger("klaxon.auth")
IPV6_CLIENT_PREFIX = 64


def token_accepted(presented: str, via: str) -> bool:
    """Whether `presented` is KLAXON_API_TOKEN; `via` (api, form, basic) is for the log.

    Raises:
        TooManyAttempts: this client sent too many wrong tokens; `presented` was not checked.
    """
    klaxon = current_app.extensions["klaxon"]
    expected = klaxon.settings.api_token
    if not expected:
        return False  # nothing to guess: the callers say sign-in is disabled
    client = client_of(request.remote_addr)
    window = _count(klaxon.token_failures, client, via)
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        return False  # stays counted
    if window is not None:
        _uncount(klaxon.token_failures, client, window, via)
    return True


def client_of(address: str | None) -> str:
    """What the guard counts against: an IPv4 address, or the /64 of an IPv6 one."""
    if not address:
        return "unknown"  # a unix socket: every such request is one client
    try:
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.ipv4_mapped:
                return str(ip.ipv4_mapped)
            return str(ipaddress.IPv6Network((ip.exploded, IPV6_CLIENT_PREFIX), strict=False))
    except ValueError:
        return address  # not an address (a test client's name): count it as it is
    return str(ip)


def _count(failures: TokenFailures, client: str, via: str) -> bytes | None:
    """Count the attempt; None when Redis could not (checked anyway, logged)."""
    try:
        return failures.attempt(client)
    except TooManyAttempts as refused:
        # Never the presented token: the address, the way in and when it may try again.
        log(
            logger,
            "token refused: too many wrong tokens from this address",
            logging.WARNING,
            client=request.remote_addr,
            via=via,
            retry_after=refused.retry_after_seconds,
        )
        raise
    except (redis.RedisError, OSError) as exc:
        log(
            logger,
            "token guard unavailable: token checked without counting",
            logging.WARNING,
            client=request.remote_addr,
            via=via,
            error=type(exc).__name__,
        )
        return None


def _uncount(failures: TokenFailures, client: str, window: bytes, via: str) -> None:
    try:
        failures.succeeded(client, window)
    except (redis.RedisError, OSError) as exc:  # the right token stays counted: harmless
        log(
            logger,
            "token guard unavailable: right token left counted",
            logging.WARNING,
            client=request.remote_addr,
            via=via,
            error=type(exc).__name__,
        )
