"""The JSON log line: the cheaper formatter (orjson, the timestamp's seconds cached, no
findCaller) writes the document json.dumps of the entry wrote, compact, scrubbed of secrets."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from app.logs import JsonFormatter, log


def old_format(record: logging.LogRecord) -> str:
    entry = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
        **record.fields,
    }
    return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


def test_line_is_the_same_text_as_before(monkeypatch):
    monkeypatch.setattr("app.logs._secrets", [])
    formatter = JsonFormatter()
    for created in (0.0, 1_700_000_000.999, 1_700_000_001.0005, time.time()):
        record = logging.LogRecord("klaxon.request", logging.INFO, "", 0, "request", (), None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        record.fields = {
            "path": "/webhooks/é",
            "status": 202,
            "latency_ms": 1.5,
            "alert": None,
            "odd": Path("/x"),
            "nested": {"a": [1, "ü"]},
        }
        assert formatter.format(record) == old_format(record)


def test_secrets_are_scrubbed_and_every_record_reaches_the_handler(monkeypatch):
    monkeypatch.setattr("app.logs._secrets", ["s3cret-value-123"])
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(JsonFormatter().format(record))
    logger = logging.getLogger("klaxon.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        log(logger, "hello", path="/x?token=s3cret-value-123")
        log(logger, "quiet", logging.DEBUG)
    finally:
        logger.removeHandler(handler)
    [line] = records
    assert "s3cret-value-123" not in line and json.loads(line)["path"] == "/x?token=[Filtered]"
