"""Redis replies as the text they hold. Klaxon's clients leave replies undecoded (bytes), but
redis-py types every reply for either setting (`bytes | str`) and stream and sorted-set
replies as the union of every shape any command returns; these helpers narrow them in one
place, so the store reads `str` without a cast or an isinstance at each call.

Decoding replaces invalid UTF-8 instead of failing: what Klaxon wrote from a Python str is
always valid, and a raw webhook body kept as sent may not be."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # redis-py 8's names; the ranges allow older versions at run time
    from redis.typing import StreamRangeResponse, ZSetRangeResponse


def text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def text_or_none(value: bytes | str | None) -> str | None:
    return None if value is None else text(value)


def text_hash(reply: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """HGETALL, or a stream entry's fields."""
    return {text(k): text(v) for k, v in reply.items()}


def members(reply: ZSetRangeResponse | Iterable[bytes | str]) -> list[str]:
    """ZRANGE without scores, SMEMBERS."""
    found = []
    for member in reply:
        if not isinstance(member, (bytes, str)):
            raise TypeError(f"a member with its score where none was asked for: {member!r}")
        found.append(text(member))
    return found


def scored_members(reply: ZSetRangeResponse) -> list[tuple[str, float]]:
    """ZRANGE or ZRANGEBYSCORE WITHSCORES: (member, score) pairs, as RESP2 and RESP3 give
    them alike."""
    found = []
    for pair in reply:
        if isinstance(pair, (bytes, str)):
            raise TypeError(f"a member without its score where scores were asked for: {pair!r}")
        member, score = pair
        found.append((text(member), float(score)))
    return found


def stream_entries(reply: StreamRangeResponse | None) -> list[tuple[str, dict[str, str]]]:
    """XRANGE or XREVRANGE: (entry id, fields) in the order Redis gave them. redis-py's type
    allows None for the reply and for an entry's id and fields (XCLAIM's and XAUTOCLAIM's
    answer for an entry deleted meanwhile); XRANGE answers neither, so there is nothing to
    leave out in practice."""
    return [
        (text(entry_id), text_hash(fields))
        for entry_id, fields in reply or []
        if entry_id is not None and fields is not None
    ]
