"""JSON on the request path: orjson where it gives the standard library's answer, the standard
library where it would not.

Every webhook decodes one body and encodes the stored alert, the store's arguments, the answer
and a log line; with `json` those were a fifth of the receiver's CPU (docs/benchmarks.md).
orjson is several times faster but not a drop-in, so the differences are handled here, once:

- Reading: orjson turns an integer beyond 64 bits into a float (an id sent as a huge number
  would silently change), and refuses what `json.loads` reads (NaN, Infinity, lone
  surrogates, a byte-order mark, UTF-16). Bodies that could hold either take the standard
  library's path, so the value, or the error and its message, are exactly what they were.
- Writing: orjson refuses integers beyond 64 bits and non-string keys; those values are
  written by `json.dumps` with the same compact separators. orjson writes NaN as null where
  `json` wrote the invalid token NaN; Klaxon stores no floats a client controls.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# An integer orjson would read as a float: above 2**64 - 1 (20 digits or more) or below
# -2**63 (19 or more after the sign; JSON allows no leading zeros). A number starts a value,
# after ':', '[' or ',' and whitespace, or the document. A regular expression over the body
# cost several times orjson's own parse, so the body is mapped to a few classes (digits -> 0,
# value starts -> ':', whitespace dropped, the rest -> x) and searched as bytes. Digits inside
# a string after one of those characters only cost the slower path.
_NUMBER_CLASSES = bytes(
    ord("0")
    if chr(b).isdigit() and b < 128
    else ord(":")
    if b in b":[,"
    else b
    if b == ord("-")
    else ord("x")
    for b in range(256)
)
_LONG_POSITIVE, _LONG_NEGATIVE = b":" + b"0" * 20, b":-" + b"0" * 19


def _may_hold_a_huge_integer(body: bytes) -> bool:
    classes = b":" + body.translate(_NUMBER_CLASSES, b" \t\n\r")
    return _LONG_POSITIVE in classes or _LONG_NEGATIVE in classes


# orjson accepts nesting to 1024 levels; json.loads stops at Python's recursion limit (1,000)
# counted from the caller's own stack depth. A body with fewer brackets than this cannot nest
# deeper, so with up to 500 frames below the parse both read it alike; others take json's
# path and its answer. (A count, not a depth: an Alertmanager group of a hundred alerts has a
# few hundred brackets and still stays on the fast path; 200 sent it to json.)
_DEEP = 500
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def loads_body(body: bytes) -> Any:
    """The value `json.loads(body.decode(json.detect_encoding(body)))` returns, faster, with
    lone surrogates made U+FFFD. Raises what that raises (ValueError subclasses,
    RecursionError). Strict: json.loads(bytes) would let UTF-8-encoded surrogates through."""
    if not _may_hold_a_huge_integer(body) and body.count(b"[") + body.count(b"{") < _DEEP:
        try:
            return orjson.loads(body)  # refuses lone surrogates: none in what it returns
        except orjson.JSONDecodeError:
            pass  # the standard library answers, with its own message
    value = json.loads(body.decode(json.detect_encoding(body)))
    # Only bodies with a \uD800-\uDFFF escape (or in UTF-16/32) can hold a surrogate.
    if _SURROGATE_ESCAPE.search(body) or b"\x00" in body[:4]:
        value = _repair_surrogates(value)
    return value


def _repair_surrogates(value: Any) -> Any:
    """Lone UTF-16 surrogates (a "\\ud83d" whose pair a truncation cut off) become U+FFFD:
    they cannot be encoded as UTF-8, so they could be neither stored nor logged."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, list):
        return [_repair_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_repair_surrogates(k): _repair_surrogates(v) for k, v in value.items()}
    return value


def loads(text: bytes | str) -> Any:
    """For JSON Klaxon wrote itself (Redis replies, stored documents)."""
    return orjson.loads(text)


def dumps(value: Any) -> str:
    """Compact JSON text, UTF-8 characters kept: json.dumps(value, separators=(",", ":"),
    ensure_ascii=False)."""
    return dumps_bytes(value).decode()


def dumps_bytes(value: Any, default: Any = None, sort_keys: bool = False) -> bytes:
    """dumps(), as UTF-8 bytes; `default` converts what JSON has no type for."""
    try:
        return orjson.dumps(
            value, default=default, option=orjson.OPT_SORT_KEYS if sort_keys else None
        )
    except TypeError:  # orjson.JSONEncodeError too
        pass
    options: dict[str, Any] = {"separators": (",", ":"), "default": default, "sort_keys": sort_keys}
    try:
        return json.dumps(value, ensure_ascii=False, **options).encode()
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8: written as its \u escape
        return json.dumps(value, ensure_ascii=True, **options).encode()
