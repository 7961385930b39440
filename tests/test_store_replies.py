"""app/store/replies.py reads real Redis replies (the client leaves them as bytes) as text, in
the shapes the store relies on."""

from __future__ import annotations

import pytest

from app.store import replies
from app.store.connection import connect


def test_text_decodes_bytes_keeps_str_and_replaces_invalid_utf8() -> None:
    assert replies.text(b"INC-2026-0001") == "INC-2026-0001"
    assert replies.text("déjà") == "déjà"
    assert replies.text("déjà".encode()) == "déjà"
    assert replies.text(b"raw \xff body") == "raw \ufffd body"
    assert replies.text_or_none(None) is None


def test_hash_members_and_scores_as_text(redis_client) -> None:
    redis_client.hset("h", mapping={"status": "open", "title": "Disk ≥ 90%"})
    redis_client.zadd("z", {"declare:INC-1": 10.5, "resolve:INC-1": 20})
    redis_client.sadd("s", "ALR-b", "ALR-a")

    assert replies.text_hash(redis_client.hgetall("h")) == {
        "status": "open",
        "title": "Disk ≥ 90%",
    }
    assert replies.members(redis_client.zrange("z", 0, -1)) == ["declare:INC-1", "resolve:INC-1"]
    assert sorted(replies.members(redis_client.smembers("s"))) == ["ALR-a", "ALR-b"]
    assert replies.scored_members(redis_client.zrange("z", 0, -1, withscores=True)) == [
        ("declare:INC-1", 10.5),
        ("resolve:INC-1", 20.0),
    ]
    # A reply of the other shape is a mistake in the caller, not something to read quietly.
    with pytest.raises(TypeError):
        replies.members(redis_client.zrange("z", 0, -1, withscores=True))
    with pytest.raises(TypeError):
        replies.scored_members(redis_client.zrange("z", 0, -1))


def test_a_client_that_decodes_replies_reads_the_same(redis_url: str, redis_client) -> None:
    redis_client.zadd("z", {"declare:INC-1": 10.5})
    decoding = connect(redis_url, decode_responses=True)
    try:
        assert replies.scored_members(decoding.zrange("z", 0, -1, withscores=True)) == [
            ("declare:INC-1", 10.5)
        ]
    finally:
        decoding.close()


def test_stream_entries_oldest_first_with_text_fields(redis_client) -> None:
    first = replies.text(redis_client.xadd("x", {"at": "1.5", "raw": b"\xff"}))
    second = replies.text(redis_client.xadd("x", {"at": "2.5", "raw": "ok"}))

    assert replies.stream_entries(redis_client.xrange("x")) == [
        (first, {"at": "1.5", "raw": "\ufffd"}),
        (second, {"at": "2.5", "raw": "ok"}),
    ]
    assert replies.stream_entries(redis_client.xrange("missing")) == []
    assert replies.stream_entries(None) == []
