"""Property: whatever an authenticated sender posts, Klaxon never answers 5xx, and a refusal
writes nothing. Samples are fixtures mutated as JSON (deleted keys, values of other types,
huge strings and integers, unicode and surrogates, nested junk) and then as bytes (truncated,
flipped), with the signature recomputed over the mutated bytes so they reach the parser.
Headers are fuzzed too, body untouched. The API, the pages and sign-in: test_fuzz_endpoints.py.
Size: tests/fuzzing.py (KLAXON_FUZZ_EXAMPLES=5000 for a long run)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import all_fixtures
from fuzzing import database, fuzz
from hypothesis import given
from hypothesis import strategies as st
from webhook_helpers import send, signed_for

FIXTURES = all_fixtures()
SOURCES = sorted({f.source for f in FIXTURES})
OUTCOMES = ("new", "grouped", "duplicate", "updated", "resolved", "suppressed", "ignored")

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63), 10**30, 10**300, 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet=st.characters(), max_size=20),  # surrogates and controls included
    st.integers(500, 20_000).map(lambda n: "x" * n),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "1773479643512",
            "1773480700227001093",
            "2026-03-14T09:14:03Z",
            "0001-01-01T00:00:00Z",
            "Triggered",
            "firing",
            "resolved",
            "incident",
            "\ud83d",
            "🚨",
            "null",
            "[]",
            "{}",
            "v1=",
            "Infinity",
        ]
    ),
)
# Values that broke parsers before: surrogates, out-of-range numbers, huge and odd strings.
poison_text = st.one_of(
    st.text(alphabet=st.characters(categories=["Cs", "Lo", "So", "Cc", "Zs"]), max_size=12),
    st.sampled_from(["\ud83d", "\udc00x", "", " ", "1e400", "0001-06-01T00:00:00Z", "NaN"]),
    st.integers(500, 20_000).map(lambda n: "y" * n),
)
poison_number = st.one_of(
    st.sampled_from([10**4000, 10**300, -1, 2**64, 1e308]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
deep = st.integers(50, 3_000).map(
    lambda depth: json.loads("[" * min(depth, 900) + "]" * min(depth, 900))
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, prefix + (key,))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, prefix + (index,))
    return found


def _mutate(data, payload: Any) -> Any:
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        paths = _paths(payload)
        if not paths:
            return payload
        path = data.draw(st.sampled_from(paths), label="path")
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        operation = data.draw(
            st.sampled_from(["delete", "replace", "replace", "deep", "poison"]), label="operation"
        )
        if operation == "poison":
            return _poison_every_leaf(data, payload)
        if operation == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(deep if operation == "deep" else values, label="value")
    return payload


def _poison_every_leaf(data, payload: Any) -> Any:
    """Each string (but the one naming the event) or number gets an odd value of its kind."""
    for path in _paths(payload):
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        leaf = parent[path[-1]]
        if path[-1] in ("event_type", "action", "transition", "status"):
            continue
        if isinstance(leaf, str) and data.draw(st.booleans(), label="poison text?"):
            parent[path[-1]] = data.draw(poison_text, label="text")
        elif isinstance(leaf, (int, float)) and data.draw(st.booleans(), label="poison number?"):
            parent[path[-1]] = data.draw(poison_number, label="number")
    return payload


def _serialise(data, payload: Any) -> bytes:
    text = json.dumps(payload, ensure_ascii=data.draw(st.booleans(), label="ascii"))
    body = text.encode("utf-8", "surrogatepass")  # ensure_ascii=False: raw surrogate bytes
    damage = data.draw(st.sampled_from(["none", "none", "truncate", "flip"]), label="bytes")
    if damage == "truncate" and body:
        body = body[: data.draw(st.integers(0, len(body) - 1), label="cut")]
    elif damage == "flip" and body:
        index = data.draw(st.integers(0, len(body) - 1), label="at")
        body = (
            body[:index] + bytes([body[index] ^ data.draw(st.integers(1, 255))]) + body[index + 1 :]
        )
    return body


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES)
@fuzz(40)
@given(data=st.data())
def test_mutated_signed_payloads_never_get_a_5xx(client, redis_client, source, data):
    fixture = data.draw(
        st.sampled_from([f for f in FIXTURES if f.source == source]), label="fixture"
    )
    body = _serialise(data, _mutate(data, fixture.json))
    headers, query = signed_for(fixture, body)
    before = database(redis_client)

    response = client.post(f"/webhooks/{source}{query}", data=body, headers=headers)

    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    answer = response.get_json()
    assert isinstance(answer, dict)
    if response.status_code >= 300:
        assert answer["error"] and answer["message"]
        assert database(redis_client) == before
    else:
        assert answer["outcome"] in OUTCOMES


@pytest.mark.slow
@fuzz(150)
@given(data=st.data(), body=st.binary(max_size=2_000))
def test_arbitrary_signed_bytes_never_get_a_5xx(client, redis_client, data, body):
    fixture = data.draw(st.sampled_from(FIXTURES), label="fixture")
    before = database(redis_client)

    response = send(client, fixture, body=body)

    assert response.status_code < 500
    if response.status_code >= 300:
        assert response.get_json()["error"]
        assert database(redis_client) == before


# Header values a sender controls: odd text, numbers and times far from the app clock, and
# what the signature and token headers look like.
header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
    st.sampled_from(
        ["", "v1=", "v1=00", "Bearer ", "Basic !!", "Basic Og==", "0", "-1", "99999999999999"]
    ),
    st.integers(-(10**12), 10**13).map(str),
    st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
)


@pytest.mark.slow
@fuzz(120)
@given(data=st.data())
def test_fuzzed_headers_on_a_genuine_body_never_get_a_5xx(skew_client, redis_client, data):
    """Signature, timestamp, token, content type and delivery headers replaced, dropped or
    added, on every source, with the send-time window on (KLAXON_WEBHOOK_CLOCK_SKEW)."""
    fixture = data.draw(st.sampled_from(FIXTURES), label="fixture")
    headers, query = signed_for(fixture, fixture.body)
    names = sorted(headers) + ["X-Klaxon-Token", "Authorization", "X-Webhook-Id"]
    for name in data.draw(st.lists(st.sampled_from(names), max_size=3), label="changed"):
        if data.draw(st.booleans(), label="drop?"):
            headers.pop(name, None)
        else:
            headers[name] = data.draw(header_values, label=name)
    before = database(redis_client)

    response = skew_client.post(
        f"/webhooks/{fixture.source}{query}", data=fixture.body, headers=headers
    )

    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    if response.status_code >= 300:
        assert response.get_json()["error"]
        assert database(redis_client) == before
    else:
        assert response.get_json()["outcome"] in OUTCOMES


@pytest.fixture
def skew_client(settings, redis_client, clock):
    from app import create_app

    clock.set(1_773_479_661.0)  # the fixtures' send times lie within an hour of this
    app = create_app(
        settings.with_changes(webhook_clock_skew_seconds=3600), connection=redis_client, clock=clock
    )
    return app.test_client()
