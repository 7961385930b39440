"""Shared HTTP policy for the channels: default timeouts, and one mapping from a vendor's
answer (or the lack of one) to DeliveryError, like Alertmanager's `notify.Retrier.Check`.

    2xx                      ok
    listed codes (429, 420)  RATE_LIMITED, retryable, retry_after from Retry-After or
                             x-rate-limit-reset
    5xx                      SERVER_ERROR, retryable
    401, 403                 AUTH, permanent
    other 4xx (and 1xx/3xx)  CLIENT_ERROR, permanent
    timeout / refused, reset TIMEOUT / CONNECTION, retryable

Error text is the vendor's trimmed body with every credential replaced; never a request.
"""

from __future__ import annotations

import email.utils
import functools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar, overload

import requests

from workers.channels.base import Channel, DeliveryError, FailureReason

CONNECT_TIMEOUT_SECONDS = 3.05  # a little over a TCP retransmit window (requests' advice)
READ_TIMEOUT_SECONDS = 10.0  # well under RQ's 180 s job_timeout; RQ's Retry does long waits
DEFAULT_TIMEOUT: tuple[float, float] = (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)
DETAIL_MAX_CHARS = 300  # DeliveryError keeps 300 characters of detail
REDACTED = "[redacted]"

Timeout = tuple[float, float]
# Idle keep-alive connections are dropped after this long: under the 60 s idle timeout common
# at vendors' load balancers, so a reused connection is rarely one the far end already closed
# (a call that meets one fails as CONNECTION and RQ retries the job; the ledger keeps it once).
KEEPALIVE_SECONDS = 30.0

T = TypeVar("T")


class ProcessCache(Generic[T]):
    """What `per_process` makes of a function: its results by arguments, at most `maxsize`,
    least recently used dropped first and released with `close` (its pooled connections
    closed, not left to the garbage collector)."""

    def __init__(
        self, function: Callable[..., T], maxsize: int, close: Callable[[T], None] | None
    ) -> None:
        self._function = function
        self._maxsize = maxsize
        self._close = close
        self._values: OrderedDict[Any, T] = OrderedDict()
        self._lock = threading.Lock()
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        key = (args, tuple(sorted(kwargs.items())))
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = self._function(*args, **kwargs)
        with self._lock:
            self._values[key] = value
            dropped = [
                self._values.popitem(last=False)[1]
                for _ in range(len(self._values) - self._maxsize)
            ]
        for old in dropped:
            self._release(old)
        return value

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        """Release every value (in a forked child: its copies of the parent's sockets, which
        closing in the child leaves open in the parent) and start empty."""
        with self._lock:
            values, self._values = list(self._values.values()), OrderedDict()
        for value in values:
            self._release(value)

    def _release(self, value: T) -> None:
        if self._close is not None:
            try:
                self._close(value)
            except Exception:  # noqa: BLE001 - a client that cannot close is dropped anyway
                pass


@overload
def per_process(maxsize: int) -> Callable[[Callable[..., T]], ProcessCache[T]]: ...


@overload
def per_process(
    maxsize: int, close: Callable[[T], None]
) -> Callable[[Callable[..., T]], ProcessCache[T]]: ...


# Two signatures: without `close`, T is the decorated function's return type; with one, T is
# also what `close` takes, so `close` must be a function typed for it (a lambda's parameter
# would be untyped when the decorator is built).
def per_process(
    maxsize: int, close: Callable[[T], None] | None = None
) -> Callable[[Callable[..., T]], ProcessCache[T]]:
    """A cache for HTTP clients, one per destination and credentials, reused by every job of
    the worker process (keep-alive: no TLS handshake per call). Keyed by the credentials
    themselves, so a client only ever carries the secret it was built with. A forked child
    (the RQ scheduler, `--processes` workers) starts empty: two processes never share a
    connection. `close` releases a value that is dropped."""

    def decorate(function: Callable[..., T]) -> ProcessCache[T]:
        cache = ProcessCache(function, maxsize, close)
        os.register_at_fork(after_in_child=cache.clear)
        _CACHES.append(cache)
        return cache

    return decorate


_CACHES: list[ProcessCache[Any]] = []


def close_every_client() -> None:
    """Close every cached client's connections now (the tests, after each test: a kept-alive
    socket to a fake that has gone would otherwise be closed by the garbage collector, with a
    ResourceWarning, in whichever test runs then)."""
    for cache in _CACHES:
        cache.clear()


class HttpResponse(Protocol):
    """What requests.Response and httpx2.Response have in common and we read."""

    status_code: int

    @property
    def headers(self) -> Any: ...

    @property
    def text(self) -> str: ...


class TimeoutSession(requests.Session):
    """A requests.Session whose every request has a (connect, read) timeout unless one is given:
    requests' own default is to wait forever."""

    def __init__(self, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.timeout = timeout

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


@per_process(maxsize=16, close=requests.Session.close)
def shared_session(owner: Any, timeout: Timeout = DEFAULT_TIMEOUT) -> requests.Session:
    """The process's session for `owner` (a frozen credentials object): its pooled
    connections are reused, and no other credentials ever use it."""
    return new_session(timeout)


def new_session(timeout: Timeout = DEFAULT_TIMEOUT) -> requests.Session:
    """A session with default timeouts and no proxies or .netrc taken from the environment
    (trust_env off: a .netrc could otherwise attach someone else's credentials)."""
    session = TimeoutSession(timeout)
    session.trust_env = False
    return session


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and anything after "Authorization:") blanked, trimmed."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = " ".join(text.split())
    return text[:DETAIL_MAX_CHARS]


def retry_after_seconds(headers: Mapping[str, str] | Any, now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After (delta-seconds or HTTP-date) or X's x-rate-limit-reset
    (epoch seconds); None when the answer says nothing usable."""
    now = time.time() if now is None else now
    value = _header(headers, "Retry-After")
    if value:
        return _parse_retry_after(value.strip(), now)
    reset = _header(headers, "x-rate-limit-reset")
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return None


def _parse_retry_after(value: str, now: float) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means "-0000"
        return None
    return max(0.0, when.timestamp() - now)


def _header(headers: Mapping[str, str] | Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None and hasattr(headers, "items"):  # plain dicts are case-sensitive
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return None if value is None else str(value)


def status_error(
    channel: Channel,
    status: int,
    headers: Mapping[str, str] | Any,
    body: str,
    *,
    retry_on: Collection[int] = frozenset({429}),
    secrets: Iterable[str] = (),
) -> DeliveryError | None:
    """The DeliveryError an HTTP status means, or None for 2xx."""
    if 200 <= status < 300:
        return None
    detail = redact(body or "", secrets)
    if status in retry_on:
        return DeliveryError(
            channel,
            FailureReason.RATE_LIMITED,
            detail,
            status=status,
            retry_after=retry_after_seconds(headers),
        )
    if status >= 500:
        return DeliveryError(
            channel,
            FailureReason.SERVER_ERROR,
            detail,
            status=status,
            retry_after=retry_after_seconds(headers),
        )
    if status in (401, 403):
        return DeliveryError(channel, FailureReason.AUTH, detail, status=status)
    return DeliveryError(channel, FailureReason.CLIENT_ERROR, detail, status=status)


def check_response(
    channel: Channel,
    response: HttpResponse,
    *,
    retry_on: Collection[int] = frozenset({429}),
    secrets: Iterable[str] = (),
) -> None:
    """Return quietly for a 2xx answer.

    Raises:
        DeliveryError: for anything else, saying whether a retry could help.
    """
    error = status_error(
        channel,
        response.status_code,
        response.headers,
        _text(response),
        retry_on=retry_on,
        secrets=secrets,
    )
    if error is not None:
        raise error


def _text(response: HttpResponse) -> str:
    try:
        return response.text
    except (ValueError, LookupError, RuntimeError):  # undecodable or unread: keep the status
        return ""


def transport_error(
    channel: Channel, exc: BaseException, *, timed_out: bool, secrets: Iterable[str] = ()
) -> DeliveryError:
    """A retryable DeliveryError for a request that got no HTTP answer."""
    reason = FailureReason.TIMEOUT if timed_out else FailureReason.CONNECTION
    return DeliveryError(channel, reason, redact(f"{type(exc).__name__}: {exc}", secrets))


def requests_error(
    channel: Channel, exc: requests.RequestException, *, secrets: Iterable[str] = ()
) -> DeliveryError:
    """Map a requests exception (no answer) to TIMEOUT or CONNECTION."""
    # ConnectTimeout is both a Timeout and a ConnectionError: test Timeout first.
    return transport_error(
        channel, exc, timed_out=isinstance(exc, requests.Timeout), secrets=secrets
    )


def guarded(
    channel: Channel,
    call: Callable[[], requests.Response],
    *,
    retry_on: Collection[int] = frozenset({429}),
    secrets: Iterable[str] = (),
) -> requests.Response:
    """Make one requests call and return its 2xx response.

    Raises:
        DeliveryError: for a non-2xx answer or no answer at all.
    """
    try:
        response = call()
    except requests.RequestException as exc:
        raise requests_error(channel, exc, secrets=secrets) from exc
    with response:
        check_response(channel, response, retry_on=retry_on, secrets=secrets)
    return response
