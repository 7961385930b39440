"""The load generator must keep producing deliveries Klaxon accepts: fresh, correctly signed,
and redeliveries byte-identical to an earlier request."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

from werkzeug.datastructures import Headers

from app.settings import Settings
from app.sources import build_sources
from bench import make_requests
from tests.conftest import SECRETS


def test_generated_requests_verify_and_name_fresh_deliveries() -> None:
    sources = build_sources(Settings.from_env(SECRETS))
    requests = make_requests.build(80, duplicates=0.25, seed=7)
    seen: dict[str, make_requests.Request] = {}
    for request in requests:
        source, headers = sources[request.source], Headers(request.headers)
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.target).query).items()}
        source.verify(headers, request.body, query)  # raises Unauthorized on a bad signature
        stamp = source.signed_timestamp(headers)  # inside KLAXON_WEBHOOK_CLOCK_SKEW of now
        assert stamp is None or abs(stamp.at - time.time()) < 60
        parsed = source.parse(headers, json.loads(request.body), request.body)
        assert parsed.event_at is None or time.time() - parsed.event_at < 60  # not stale
        for alert in parsed.alerts:
            assert seen.setdefault(alert.delivery_id, request) is request  # same id: same bytes
    assert {r.source for r in requests} == set(make_requests.STORIES)
    assert len({id(r) for r in requests}) < len(requests)  # some redeliveries
