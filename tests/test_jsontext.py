"""app/jsontext.py gives the standard library's answers: the same values for every body json
reads (huge integers included, lone surrogates made U+FFFD), the same refusals with the same
messages, the same text out."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import jsontext

scalars = (
    st.none()
    | st.booleans()
    | st.text()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def standard(body: bytes) -> object:
    return repaired(json.loads(body.decode(json.detect_encoding(body))))


def repaired(value: object) -> object:
    """A lone surrogate cannot be stored or logged as UTF-8: its three bytes read as U+FFFD
    each (what the receiver has always stored)."""
    if isinstance(value, str):
        return "".join("\ufffd" * 3 if "\ud800" <= c <= "\udfff" else c for c in value)
    if isinstance(value, list):
        return [repaired(v) for v in value]
    if isinstance(value, dict):
        return {repaired(k): repaired(v) for k, v in value.items()}
    return value


def outcome(read, body: bytes) -> tuple[str, object]:
    try:
        return "value", read(body)
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


def same(a: object, b: object) -> bool:
    """Equal, with types: 1 and 1.0 and True are different answers."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=400)
@given(documents, st.booleans(), st.sampled_from([None, 2]))
def test_every_document_reads_as_json_reads_it(value, ascii_only, indent):
    body = json.dumps(value, ensure_ascii=ascii_only, indent=indent).encode()
    assert same(jsontext.loads_body(body), standard(body))


@settings(max_examples=400)
@given(documents, st.binary(max_size=4), st.integers(min_value=0))
def test_mangled_bodies_get_the_same_value_or_the_same_refusal(value, junk, at):
    body = json.dumps(value).encode()
    at %= len(body) + 1
    body = body[:at] + junk + body[at:]
    mine, theirs = outcome(jsontext.loads_body, body), outcome(standard, body)
    assert mine[0] == theirs[0] and (
        same(mine[1], theirs[1]) if mine[0] == "value" else mine[1] == theirs[1]
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": 123456789012345678901234567890}',  # orjson would read a float
        b"[-9999999999999999999]",
        b"18446744073709551616",
        b"[18446744073709551615]",
        b"[-9223372036854775808, -9223372036854775809, 9999999999999999999]",
        b'{"a": NaN, "b": -Infinity}',
        b'{"a": 1e400}',
        b'"\\ud83d"',
        b'\xef\xbb\xbf{"a": 1}',
        '{"a": "é"}'.encode("utf-16"),
        b'{"a": "\xed\xa0\xbd"}',
        b"[" * 5000 + b"]" * 5000,
        b"[" * 250 + b"]" * 250,
        b'{"a": 1,}',
        b"",
    ],
)
def test_what_orjson_would_read_differently_or_refuse(body):
    mine, theirs = outcome(jsontext.loads_body, body), outcome(standard, body)
    assert mine[0] == theirs[0]
    assert same(mine[1], theirs[1]) if mine[0] == "value" else mine[1] == theirs[1]


@settings(max_examples=300)
@given(documents)
def test_text_out_is_compact_json_of_the_same_document(value):
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(jsontext.dumps(value)) == json.loads(expected)
    assert jsontext.dumps_bytes(value).decode() == jsontext.dumps(value)


def test_integers_orjson_refuses_are_written_by_json():
    assert jsontext.dumps({"n": 2**70}) == '{"n":1180591620717411303424}'
    assert (
        jsontext.dumps_bytes({"b": 1, "a": 2**70}, sort_keys=True)
        == b'{"a":1180591620717411303424,"b":1}'
    )


def test_a_lone_surrogate_is_written_as_an_escape_not_an_error():
    for write in (jsontext.dumps, lambda v: jsontext.dumps_bytes(v).decode()):
        assert json.loads(write({"a": "\ud83d", "n": 2**70})) == {"a": "\ud83d", "n": 2**70}
