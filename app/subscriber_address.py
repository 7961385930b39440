"""Whether a status-page subscriber's URL may be posted to: http(s), a host, and every address
that host resolves to public. Anyone can subscribe, so without this check a subscription would
make Klaxon's workers call inside its own network (server-side request forgery): Redis on
loopback, the cloud's metadata service at 169.254.169.254, private services on 10/8.

Checked when someone subscribes (the web answers 400) and again before every post (the
worker), because a name can resolve elsewhere later. Refused: every address that is not
globally reachable (`ipaddress`'s is_global: loopback, RFC 1918 private, link-local, unique
local fc00::/7, CGNAT, documentation, unspecified), multicast, and IPv4 written inside IPv6.
KLAXON_SUBSCRIBERS_ALLOW_LOOPBACK lets loopback through (local runs, the tests' fake).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

URL_MAX_CHARS = 2000  # what browsers and the status page's form take
SCHEMES = ("http", "https")

# host, port -> the addresses it resolves to (socket.getaddrinfo, reduced to the addresses).
Resolver = Callable[[str, int], Iterable[str]]


class RefusedAddress(ValueError):
    """A subscriber URL Klaxon will not post to; the message says why, in the user's terms."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives `host` (A and AAAA)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedAddress(f"the host {host!r} does not resolve") from exc
    return [str(answer[4][0]) for answer in answers]


def normalised_url(url: str) -> str:
    """The URL as it will be stored and posted to, or RefusedAddress for one that is not an
    absolute http(s) URL with a host and without credentials in it."""
    url = url.strip()
    if not url or len(url) > URL_MAX_CHARS:
        raise RefusedAddress(f"the URL must be 1 to {URL_MAX_CHARS} characters")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise RefusedAddress("the URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedAddress("the URL is not a valid URL") from exc
    if parts.scheme.lower() not in SCHEMES:
        raise RefusedAddress("the URL must start with https:// or http://")
    if not parts.hostname:
        raise RefusedAddress("the URL must name a host")
    if parts.username is not None or parts.password is not None:
        raise RefusedAddress("the URL must not carry a user name or password")
    del port  # read only to reject a port that is not a number
    return parts._replace(scheme=parts.scheme.lower(), fragment="").geturl()


def check_url(url: str, allow_loopback: bool, resolve: Resolver = system_resolver) -> str:
    """The normalised URL when every address its host resolves to may be posted to.

    Raises:
        RefusedAddress: the URL, its host or one of its addresses is refused.
    """
    url = normalised_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = list(resolve(host, port))
    if not addresses:
        raise RefusedAddress(f"the host {host!r} does not resolve")
    for address in addresses:
        problem = address_problem(address, allow_loopback)
        if problem:
            raise RefusedAddress(f"the host {host!r} resolves to {problem}")
    return url


def address_problem(address: str, allow_loopback: bool) -> str:
    """Why Klaxon must not post to `address` ("" when it may)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: the zone is not ours
    except ValueError:
        return f"{address!r}, which is not an address"
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour or ip.teredo):
        return f"{ip}, an IPv4 address inside IPv6"
    if ip.is_loopback:
        return "" if allow_loopback else f"{ip}, a loopback address"
    if ip.is_multicast or not ip.is_global:
        return f"{ip}, which is not a public address"
    return ""
