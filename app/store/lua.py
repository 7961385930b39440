"""LuaScript: EVALSHA of one script on a pool connection this thread keeps, for the hot path.

redis-py's client wraps every command in a pool checkout and release, metrics hooks, event
dispatch and retry closures: about 80 µs of CPU per command on the development VM, more than
Redis spends running correlate.lua. This sends the same bytes on a connection checked out of
the client's pool once per thread (web servers run requests on several threads) and process
(workers fork), and keeps what the client guarantees:

- a connection the server closed (a restart) is noticed before sending, as the pool's checkout
  does (with one poll() instead of can_read()'s three system calls), and replaced; the command
  then follows the connection's own retry policy;
- a connection that failed mid-command is never reused as it is (it may hold half a reply);
- a NOSCRIPT reply (a restarted or flushed Redis) loads the script and sends it again;
- errors are redis-py's own (ConnectionError, TimeoutError, ResponseError and subclasses);
- closing the client (pool.disconnect()) closes these connections too; a thread's connection
  goes back to the pool when the thread ends.
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
        self._local = threading.local()

    def __call__(self, *args: bytes) -> Any:
        """The script's reply to EVALSHA with no keys and these ARGV."""
        conn = self._connection()
        command = [_pack([b"EVALSHA", self.sha, b"0", *args])]  # a list of buffers to send
        return conn.retry.call_with_retry(lambda: self._run(conn, command),
                                          lambda error: conn.disconnect())

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

    def _connection(self) -> Connection:
        held = getattr(self._local, "held", None)
        if held is None or held.pid != os.getpid():  # first use in this thread, or forked
            held = self._local.held = _Held(self._pool)
        if held.stale():
            held.conn.disconnect()  # the next send connects again
        return held.conn


class _Held:
    """One thread's connection, checked out of the pool until the thread ends."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.pid = os.getpid()
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

    def __del__(self) -> None:  # the thread ended (its locals are dropped)
        if self.pid == os.getpid():
            try:
                self.pool.release(self.conn)
            except Exception:  # noqa: BLE001, S110 - the pool may be gone at shutdown
                pass


def _pack(parts: list[bytes]) -> bytes:
    """A RESP array of bulk strings: what redis-py's packer writes for bytes arguments."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out += (b"$%d\r\n" % len(part), part, b"\r\n")
    return b"".join(out)
