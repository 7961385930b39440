"""GET /metrics over real HTTP: granian with two web worker processes sharing one metrics
directory, counted requests added up across them, Redis state read at scrape time, and the
token that guards it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import SECRETS, load_fixture
from prometheus_client.parser import text_string_to_metric_families
from running_klaxon import ROOT, web

pytestmark = pytest.mark.slow
API = {"Authorization": f"Bearer {SECRETS['KLAXON_API_TOKEN']}"}
METRICS_TOKEN = "metrics-only-token-9f3e1a"


def environment(redis_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **SECRETS,
        "REDIS_URL": redis_url,
        "KLAXON_RULES_DIR": str(ROOT / "rules"),
        "KLAXON_TEMPLATES_DIR": str(ROOT / "templates"),
        "KLAXON_METRICS_DIR": str(tmp_path / "metrics"),
        "KLAXON_LOG_LEVEL": "WARNING",
        **extra,
    }


def scrape(base: str, headers: dict[str, str] = API) -> dict[tuple[str, frozenset], float]:
    response = requests.get(f"{base}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "INC-" not in response.text  # no incident id as a label, ever
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _datadog(i: int) -> bytes:
    body = json.loads(load_fixture("datadog", "triggered").body)
    body["id"] = f"delivery-{i}"
    body["alert"]["id"], body["alert"]["scope"] = f"9000{i}", f"host:metrics-{i}"
    body["hostname"] = f"metrics-{i}"
    return json.dumps(body).encode()


def _post(base: str, body: bytes, token: str = SECRETS["DATADOG_WEBHOOK_TOKEN"], **kw) -> int:
    headers = {"Content-Type": "application/json", "X-Klaxon-Token": token, **kw}
    return requests.post(
        f"{base}/webhooks/datadog", data=body, headers=headers, timeout=10
    ).status_code


def _writers(tmp_path: Path) -> set[str]:
    """The pids of the processes that wrote metrics files."""
    return {path.stem.rsplit("_", 1)[-1] for path in (tmp_path / "metrics").glob("*.db")}


def test_metrics_add_up_every_web_process_and_read_redis_at_scrape_time(
    redis_url, redis_client, tmp_path
) -> None:
    env = environment(redis_url, tmp_path, KLAXON_METRICS_TOKEN=METRICS_TOKEN)
    accepted = 0
    with web(env, processes=2) as base:
        # The kernel, not granian, picks the process that accepts each connection: send
        # batches until both have written metrics (each process writes files of its own pid).
        for _ in range(20):
            with ThreadPoolExecutor(max_workers=8) as pool:
                batch = range(accepted, accepted + 40)
                codes = list(pool.map(lambda i: _post(base, _datadog(i)), batch))
            assert codes == [202] * len(batch)
            accepted += len(batch)
            if len(_writers(tmp_path)) >= 2:
                break
        assert _post(base, _datadog(0), token="wrong-token-000000") == 401
        assert _post(base, b"x=1", **{"Content-Type": "application/x-www-form-urlencoded"}) == 415
        unknown = requests.post(
            f"{base}/webhooks/no-such-source",
            data=b"{}",
            timeout=10,
            headers={"Content-Type": "application/json"},
        )
        assert unknown.status_code == 404

        samples = scrape(base)

        # Both web processes answered some of the requests, and /metrics added them up.
        writers = _writers(tmp_path)
        assert len(writers) >= 2, writers
        received = sum(
            v
            for (name, labels), v in samples.items()
            if name == "klaxon_webhooks_total"
            and ("source", "datadog") in labels
            and ("outcome", "refused") not in labels
        )
        assert received == accepted
        assert value(samples, "klaxon_webhooks_total", source="datadog", outcome="refused") == 2
        assert value(samples, "klaxon_webhooks_total", source="unknown", outcome="refused") == 1
        assert value(samples, "klaxon_refusals_total", reason="unauthorized", status="401") == 1
        assert (
            value(samples, "klaxon_refusals_total", reason="unsupported_media_type", status="415")
            == 1
        )
        assert value(samples, "klaxon_refusals_total", reason="unknown_source", status="404") == 1
        assert value(samples, "klaxon_request_duration_seconds_count", route="webhooks") == (
            accepted + 3
        )
        # Read from Redis as it is now (no worker runs here, so the jobs wait).
        notify_depth = redis_client.llen("rq:queue:klaxon-notify")
        assert value(samples, "klaxon_queue_depth", queue="klaxon-notify") == notify_depth
        assert value(samples, "klaxon_timers_pending") == redis_client.zcard("klaxon:timers") > 0
        assert value(samples, "klaxon_redis_memory_used_bytes") > 0
        assert ("klaxon_redis_memory_max_bytes", frozenset()) in samples
        redis_client.rpush("rq:queue:klaxon-public", "job-a", "job-b")
        assert value(scrape(base), "klaxon_queue_depth", queue="klaxon-public") == 2


def test_metrics_need_the_api_token_or_the_metrics_token(redis_url, redis_client, tmp_path):
    env = environment(redis_url, tmp_path, KLAXON_METRICS_TOKEN=METRICS_TOKEN)
    with web(env, processes=1) as base:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-000000"},
            {"Authorization": f"Basic {METRICS_TOKEN}"},
        ):
            response = requests.get(f"{base}/metrics", headers=headers, timeout=10)
            assert response.status_code == 401
            assert "klaxon_" not in response.text
        scrape(base, API)
        scrape(base, {"Authorization": f"Bearer {METRICS_TOKEN}"})
    # Without KLAXON_METRICS_TOKEN only the API token opens it.
    with web(environment(redis_url, tmp_path), processes=1) as base:
        scrape(base, API)
        response = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
        )
        assert response.status_code == 401


def test_a_restarted_dyno_starts_counting_from_zero(redis_url, redis_client, tmp_path) -> None:
    env = environment(redis_url, tmp_path)
    with web(env, processes=1) as base:
        assert _post(base, _datadog(1)) == 202
        assert value(scrape(base), "klaxon_request_duration_seconds_count", route="webhooks") == 1
    with web(env, processes=1) as base:  # same directory: the files of the last run are gone
        samples = scrape(base)
        assert value(samples, "klaxon_request_duration_seconds_count", route="webhooks") == 0
