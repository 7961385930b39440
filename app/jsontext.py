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

# A number of 19 digits or more may be an integer orjson would read as a float (below -2**63
# or above 2**64 - 1). A number starts a value: after ':', '[' or ',' and whitespace, or the
# document; a match inside a string only costs the slower path.
_LONG_NUMBER = re.compile(rb"(?:^|[:\[,])\s*-?\d{19}")
# orjson accepts nesting to 1024 levels; json.loads stops at Python's recursion limit, and the
# parsers of the sources walk payloads recursively: deep bodies take json's path and answer.
_DEEP = 200


def loads_body(body: bytes) -> Any:
    """The value `json.loads(body.decode(json.detect_encoding(body)))` returns, faster.
    Raises what that raises (ValueError subclasses, RecursionError)."""
    if not _LONG_NUMBER.search(body) and body.count(b"[") + body.count(b"{") < _DEEP:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # the standard library answers, with its own message
    return json.loads(body.decode(json.detect_encoding(body)))


def loads(text: bytes | str) -> Any:
    """For JSON Klaxon wrote itself (Redis replies, stored documents)."""
    return orjson.loads(text)


def dumps(value: Any) -> str:
    """Compact JSON text, UTF-8 characters kept: json.dumps(value, separators=(",", ":"),
    ensure_ascii=False)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def dumps_bytes(value: Any, default: Any = None, sort_keys: bool = False) -> bytes:
    """dumps(), as UTF-8 bytes; `default` converts what JSON has no type for."""
    try:
        return orjson.dumps(value, default=default,
                            option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=default,
                          sort_keys=sort_keys).encode()
