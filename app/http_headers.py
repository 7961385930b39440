"""Headers every answer carries that are about the deployment, not the route.

- /api/*: `Cache-Control: no-store` (incident details and tokens' answers never sit in a shared
  or browser cache) and the security headers the pages have: a JSON answer opened in a
  browser is not sniffed into HTML, framed or given a referrer.
  /api/v2/* is the public status in Statuspage's shape (app/pages/statusapi.py): public and
  cacheable like the status page, so it keeps its own Cache-Control.
- Everything, when KLAXON_PUBLIC_URL is https: HSTS, so a browser that once reached Klaxon
  never sends the session cookie (or a typed token) over plain http again. Heroku's router
  serves both http and https on the same name; the header is ignored over http.

The webhook fast path (app/fastpath.py) adds `transport_headers()` to its answers too.
"""

from __future__ import annotations

from flask import Flask, Response, request

from app.settings import Settings

API_PREFIX = "/api/"
PUBLIC_API_PREFIX = "/api/v2/"
HSTS = "max-age=31536000"  # one year; no includeSubDomains: other hosts of the domain are not ours
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
API_SECURITY_HEADERS = {
    "Content-Security-Policy": API_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def transport_headers(settings: Settings) -> dict[str, str]:
    """HSTS when the public URL is https, else nothing."""
    return {"Strict-Transport-Security": HSTS} if settings.serves_https else {}


def install(app: Flask, settings: Settings) -> None:
    always = transport_headers(settings)

    def add_headers(response: Response) -> Response:
        for name, value in always.items():
            response.headers.setdefault(name, value)
        if request.path.startswith(PUBLIC_API_PREFIX):
            pass  # public and cacheable: the blueprint sets its headers
        elif request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/"):
            response.headers["Cache-Control"] = "no-store"
            for name, value in API_SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    app.after_request(add_headers)
