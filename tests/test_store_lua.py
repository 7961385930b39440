"""app/store/lua.py: the lean EVALSHA keeps redis-py's behaviour where it matters: NOSCRIPT
loads the script, a closed connection is replaced, an unreachable server raises
ConnectionError, error replies raise ResponseError and leave the connection usable, calls at
the same time never share a connection, and no more connections are kept than ran at once."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
import redis

from app.store.connection import connect
from app.store.lua import LuaScript, _pack


def fresh(source: str) -> str:
    """A script no Redis has seen (so the first EVALSHA is answered NOSCRIPT)."""
    return f"-- {uuid.uuid4().hex}\n{source}"


def test_first_call_loads_the_script_and_returns_its_reply(redis_client):
    script = LuaScript(redis_client, fresh("return {ARGV[1], ARGV[2], #ARGV}"))
    assert script(b"a", "é".encode()) == [b"a", "é".encode(), 2]
    assert script(b"", b"\x00\xff") == [b"", b"\x00\xff", 2]


def test_packing_is_what_redis_py_sends(redis_client):
    args = [b"EVALSHA", b"abc", b"0", b"", b"x" * 10_000, "ü".encode()]
    connection = redis_client.connection_pool.get_connection()
    try:
        assert _pack(args) == b"".join(connection.pack_command(*args))
    finally:
        redis_client.connection_pool.release(connection)


def test_a_dropped_connection_is_reconnected(redis_client):
    script = LuaScript(redis_client, fresh("return ARGV[1]"))
    assert script(b"one") == b"one"
    script._idle[-1].conn._sock.shutdown(socket.SHUT_RDWR)  # as if Redis restarted
    assert script(b"two") == b"two"


def test_error_reply_raises_and_the_connection_stays_usable(redis_client):
    script = LuaScript(
        redis_client,
        fresh("if ARGV[1] == 'x' then return redis.error_reply('BOOM here') end return ARGV[1]"),
    )
    with pytest.raises(redis.ResponseError, match="BOOM"):
        script(b"x")
    assert script(b"ok") == b"ok"


def test_unreachable_server_raises_connection_error():
    client = connect("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    with pytest.raises(redis.ConnectionError):
        LuaScript(client, "return 1")()


def test_calls_at_once_get_their_own_connection_and_idle_ones_are_reused(redis_client):
    script = LuaScript(redis_client, fresh("return ARGV[1]"))
    taken = [script._checkout() for _ in range(3)]  # three calls in flight together
    assert len({id(held.conn) for held in taken}) == 3
    script._idle.extend(taken)

    def call() -> None:
        assert script(b"t") == b"t"

    for _ in range(6):  # six threads, one after another
        thread = threading.Thread(target=call)
        thread.start()
        thread.join()
    assert len(script._idle) == 3  # reused, not one more per thread
    assert {id(held.conn) for held in script._idle} == {id(held.conn) for held in taken}


def test_closing_the_client_closes_them_and_the_next_call_reconnects(redis_client):
    script = LuaScript(redis_client, fresh("return ARGV[1]"))
    assert script(b"one") == b"one"
    redis_client.connection_pool.disconnect()
    assert script._idle[-1].conn._sock is None
    assert script(b"two") == b"two"


def test_a_connection_the_server_closed_is_replaced_before_sending(redis_client):
    script = LuaScript(redis_client, fresh("return ARGV[1]"))
    assert script(b"one") == b"one"
    local = script._idle[-1].conn._sock.getsockname()
    if not isinstance(local, tuple):
        pytest.skip("needs Redis over TCP to find the connection in CLIENT LIST")
    [client] = [c for c in redis_client.client_list() if c["addr"] == f"{local[0]}:{local[1]}"]
    redis_client.client_kill_filter(_id=client["id"])  # as a Redis restart or timeout would
    assert script(b"two") == b"two"  # no error: the closed socket was noticed and replaced
