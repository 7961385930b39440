"""LuaScript: EVALSHA of one script on connections it keeps idle between calls, for the hot path.

redis-py's client wraps every command in a pool checkout and release, metrics hooks, event
dispatch and retry closures: about 80 µs of CPU per command on the development VM, more than
Redis spends running correlate.lua. This sends the same bytes on a connection from a small
stack of its own: a call takes an idle one (or checks a new one out of the client's pool),
and puts it back afterwards. So it holds as many connections as calls ever ran at once, as
the pool would (Redis plans limit connections: one per thread would not do under a server
that runs hundreds of threads). It keeps what the client guarantees:

- a connection the server closed (a restart) is noticed before sending, as the pool's checkout
  does (with one poll() instead of can_read()'s three system calls), and replaced; the command
  then follows the connection's own retry policy;
- a connection that failed mid-command is never reused as it is (it may hold half a reply);
- a NOSCRIPT reply (a restarted or flushed Redis) loads the script and sends it again;
- errors are redis-py's own (ConnectionError, TimeoutError, ResponseError and subclasses);
- a forked worker never uses its parent's sockets;
- closing the client (pool.disconnect()) closes these connections too (they stay checked
  out of the pool); the next call connects again.
"""

from __future__ import annotations

import hashlib
import os
import select
import threading
from typing import Any

import redis
from redis.connection import Connection, ConnectionPool


class LuaScript:
    def __init__(self, client: redis.Redis, source: str) -> None:
        self.source = source.encode()
        self.sha = hashlib.sha1(self.source).hexdigest().encode()
        self._pool = client.connection_pool
        self._idle: list[_Held] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __call__(self, *args: bytes) -> Any:
        """The script's reply to EVALSHA with no keys and these ARGV."""
        held = self._checkout()
        conn = held.conn
        command = [_pack([b"EVALSHA", self.sha, b"0", *args])]  # a list of buffers to send
        try:
            return conn.retry.call_with_retry(
                lambda: self._run(conn, command), lambda error: conn.disconnect()
            )
        finally:
            with self._lock:
                self._idle.append(held)  # disconnected if it failed: the next use reconnects

    def _run(self, conn: Connection, command: list[bytes]) -> Any:
        try:
            conn.send_packed_command(command)
            try:
                return conn.read_response()
            except redis.exceptions.NoScriptError:
                conn.send_packed_command([_pack([b"SCRIPT", b"LOAD", self.source])])
                conn.read_response()
                conn.send_packed_command(command)
                return conn.read_response()
        except redis.ResponseError:
            raise  # an error reply: the connection is still in step
        except BaseException:
            conn.disconnect()  # a reply may be half read: never reuse this socket as it is
            raise

    def _checkout(self) -> _Held:
        with self._lock:
            if self._pid != os.getpid():  # a forked worker: the parent's sockets are not ours
                self._idle, self._pid = [], os.getpid()
            held = self._idle.pop() if self._idle else None
        if held is None:
            held = _Held(self._pool)
        if held.stale():
            held.conn.disconnect()  # the next send connects again
        return held


class _Held:
    """A connection checked out of the pool for good, and how to tell it went stale."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.conn: Connection = pool.get_connection()
        self._polled: Any = None  # the socket self._poll watches
        self._poll: Any = None

    def stale(self) -> bool:
        """Readable while idle: the server closed the connection (EOF) or sent what nobody
        asked for. The pool's checkout asks can_read() the same; one poll() costs a tenth."""
        sock = getattr(self.conn, "_sock", None)
        if sock is None:
            return False  # not connected: the next send connects
        if sock is not self._polled:  # a new socket after a reconnect
            self._poll = select.poll()
            self._poll.register(sock, select.POLLIN)
            self._polled = sock
        return bool(self._poll.poll(0))


def _pack(parts: list[bytes]) -> bytes:
    """A RESP array of bulk strings: what redis-py's packer writes for bytes arguments."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out += (b"$%d\r\n" % len(part), part, b"\r\n")
    return b"".join(out)
