"""The web process's front: granian's RSGI interface in front of the unchanged Flask app.

Under granian's WSGI interface a request holds one of its worker's few request threads from
its headers to its last byte, reading the body included: eight clients that sent headers and
then stalled filled 2 workers x 4 threads and stopped all intake (issue 11). Here a worker's
event loop reads the body, where a waiting client costs a coroutine and not a thread, and
under a deadline: KLAXON_BODY_TIMEOUT seconds after the headers, 408 and the connection is
closed. What the headers alone can refuse is refused before the body is read at all: a
webhook's unknown source, content type, wrong token or missing or malformed signature
(webhooks.check_before_body), a wrong API token (the API's own check). Only a request whose
body has arrived reaches the thread pool (KLAXON_WEB_THREADS a worker), where the Flask app
runs on the buffered body as it did under granian's WSGI interface.

A body is buffered up to KLAXON_MAX_BODY bytes: past it (a chunked body) the front answers
413, as Flask does from a Content-Length over the limit, which it is left to answer.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from flask import Flask
from granian.rsgi import ProtocolClosed
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from app import api, fastpath, http_errors, webhooks
from app.errors import RequestTimeout
from app.logs import log_request

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Answered by the WSGI app in the pool: status, headers, body.
Answer = tuple[int, list[tuple[str, str]], bytes]


class Scope(Protocol):
    """What granian's RSGI scope offers (granian.rsgi.Scope), as far as the front uses it."""

    proto: str
    http_version: str
    server: str
    client: str
    scheme: str
    method: str
    path: str
    query_string: str

    @property
    def headers(self) -> Any: ...


class Front:
    """An RSGI application (`granian --interface rsgi app.web:app`) serving `flask_app`."""

    def __init__(self, flask_app: Flask) -> None:
        self.flask_app = flask_app
        self.klaxon = flask_app.extensions["klaxon"]
        settings = self.klaxon.settings
        self.body_timeout = settings.body_timeout_seconds
        self.max_body = settings.max_body_bytes
        self.trusted_proxies = settings.trusted_proxies
        # Threads start on demand, so building the front in granian's main process is free.
        self.pool = ThreadPoolExecutor(settings.web_threads, thread_name_prefix="klaxon-request")

    async def __rsgi__(self, scope: Scope, protocol: Any) -> None:
        if scope.proto != "http":
            return  # the Procfile turns websockets off; nothing here speaks them
        started = time.perf_counter()
        environ = wsgi_environ(scope)
        loop = asyncio.get_running_loop()
        stage = "headers"
        try:
            await self._check_before_body(environ, loop)
            stage = "body"
            environ["wsgi.input"] = io.BytesIO(await self._read_body(environ, protocol))
            stage = "app"
            status, headers, body = await loop.run_in_executor(
                self.pool, call_wsgi, self.flask_app, environ
            )
        except ProtocolClosed:  # the client went away mid-body: no one to answer
            fields = {"stage": stage, "error": "client_closed_request"}
            log_request(environ["REQUEST_METHOD"], _path(environ), 499, started, fields)
            return
        except Exception as error:  # noqa: BLE001 - answered, and reported if unexpected
            self._refuse(protocol, environ, error, started, stage)
            return
        protocol.response_bytes(status, headers, body)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.pool.shutdown(wait=True)  # the requests in the pool finish before the worker ends

    async def _check_before_body(
        self, environ: dict[str, Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        """Raise what the headers alone earn: see the module docstring."""
        source_name = fastpath.webhook_source(environ)
        if source_name is not None:
            # Pure computation (no I/O), so on the loop: no thread is taken for a refusal.
            request = self.flask_app.request_class(environ)
            webhooks.check_before_body(self.klaxon, request, source_name)
        elif environ["PATH_INFO"].startswith("/api/") and _has_body(environ):
            # The token guard counts wrong tokens in Redis: a blocking call, so in the pool.
            await loop.run_in_executor(self.pool, self._check_api_token, environ)

    def _check_api_token(self, environ: dict[str, Any]) -> None:
        probe = {**environ, "wsgi.input": io.BytesIO()}
        if self.trusted_proxies:  # the address the guard counts, as Flask will see it
            fix = ProxyFix(_no_app, x_for=self.trusted_proxies, x_proto=0, x_host=0, x_port=0)
            fix(probe, _no_start_response)  # rewrites probe["REMOTE_ADDR"]
        with self.flask_app.request_context(probe):
            api.require_token()

    async def _read_body(self, environ: dict[str, Any], protocol: Any) -> bytes:
        length = environ.get("CONTENT_LENGTH", "")
        if length == "0" or (length.isdigit() and int(length) > self.max_body):
            return b""  # nothing to wait for: no body, or Flask refuses it from the header
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.body_timeout):
                if length.isdigit():  # granian stops at Content-Length: one await for it all
                    return bytes(await protocol())
                async for chunk in protocol:
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_body:
                        # Werkzeug trusts a server that says the body is complete
                        # (wsgi.input_terminated) and does not limit it: refuse it here.
                        raise RequestEntityTooLarge()
        except TimeoutError:
            raise RequestTimeout(
                f"the request body did not arrive within {self.body_timeout} s "
                "(KLAXON_BODY_TIMEOUT)",
                received_bytes=size,
            ) from None
        return b"".join(chunks)

    def _refuse(
        self, protocol: Any, environ: dict[str, Any], error: Exception, started: float, stage: str
    ) -> None:
        answer = http_errors.answer_for(error)
        data = fastpath.json_bytes(self.flask_app, answer.body)
        headers = [("Content-Type", "application/json"), *answer.headers.items()]
        protocol.response_bytes(answer.status, headers, data)
        fields = {"stage": stage, **answer.log_fields}
        source_name = fastpath.webhook_source(environ)
        if source_name is not None:
            fields["source"] = source_name
        log_request(environ["REQUEST_METHOD"], _path(environ), answer.status, started, fields)


def wsgi_environ(scope: Scope) -> dict[str, Any]:
    """The WSGI environ of a request (PEP 3333), without its body (wsgi.input is empty)."""
    server_host, _, server_port = scope.server.rpartition(":")
    client_host, _, client_port = scope.client.rpartition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        # granian gives the path percent-decoded as text; WSGI wants its bytes as latin-1.
        "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server_host.strip("[]"),
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client_host.strip("[]"),
        "REMOTE_PORT": client_port,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(),
        "wsgi.input_terminated": True,  # the body is all there, whatever Content-Length says
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope.headers.items():
        if "_" in name:
            continue  # X_Forwarded_For would pass for X-Forwarded-For (as in gunicorn, nginx)
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        if key in environ:  # a repeated header: one value, as a WSGI server joins them
            environ[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
        else:
            environ[key] = value
    return environ


def call_wsgi(app: WSGIApp, environ: dict[str, Any]) -> Answer:
    """Run the WSGI app to the end of its answer (in a pool thread)."""
    started: list[Any] = []
    chunks: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return chunks.append  # the WSGI write() callable

    iterable = app(environ, start_response)
    try:
        chunks.extend(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    status, headers = started
    # granian writes Content-Length for the bytes it is given.
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    return int(status.split(" ", 1)[0]), kept, b"".join(chunks)


def _path(environ: dict[str, Any]) -> str:
    return str(environ["PATH_INFO"]).encode("latin-1").decode("utf-8", "replace")


def _has_body(environ: dict[str, Any]) -> bool:
    return environ.get("CONTENT_LENGTH", "0") != "0" or "HTTP_TRANSFER_ENCODING" in environ


def _no_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return []


def _no_start_response(
    status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
) -> Callable[[bytes], object]:
    raise AssertionError("never called: _no_app answers nothing")
