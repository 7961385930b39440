"""A clean copy of the repository, built the way Heroku's Python buildpack builds it, then run
from the Procfile as a dyno runs it.

The buildpack (heroku-buildpack-python, lib/uv.sh) installs with `uv sync --locked
--no-default-groups --compile-bytecode` into the dyno's Python, so a dyno has exactly the
runtime part of uv.lock and nothing of the dev group. This test does the same into a fresh
environment, which catches a lock out of date with pyproject.toml, a package the code imports
without declaring it (pytest and friends are absent there), and a Procfile command that does
not start. Then it sends a webhook through web and worker, and stops the dyno as Heroku does
(SIGTERM to every process, SIGKILL 30 s later): everything must be gone well before that.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import requests
from conftest import SECRETS, free_port, load_fixture
from webhook_helpers import authentic

ROOT = Path(__file__).parent.parent
UV = ROOT / ".venv-uv" / "bin" / "uv"  # ./dev installs the uv the buildpack uses
HEROKU_GRACE_SECONDS = 30  # SIGTERM, then SIGKILL this long after
pytestmark = pytest.mark.slow


def clean_copy(target: Path) -> Path:
    """The files a `git push` would send: tracked and not ignored, as they are on disk now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def buildpack_install(app_dir: Path, python_home: Path) -> None:
    assert UV.exists(), "./dev installs uv into .venv-uv/; run the suite through ./dev test"
    environment = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(python_home),  # the buildpack's, there /app/.heroku/python
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_MANAGED_PYTHON": "1",
    }
    environment.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [str(UV), "sync", "--locked", "--no-default-groups", "--compile-bytecode", "--quiet"],
        cwd=app_dir,
        env=environment,
        check=True,
        timeout=600,
    )


def procfile(app_dir: Path) -> dict[str, str]:
    lines = (app_dir / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def start(command: str, app_dir: Path, environment: dict[str, str]) -> subprocess.Popen:
    # Heroku runs each Procfile line with bash, in the app directory.
    return subprocess.Popen(
        ["bash", "-c", command],
        cwd=app_dir,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def dyno(processes: list[subprocess.Popen]) -> list[psutil.Process]:
    found = []
    for process in processes:
        try:
            parent = psutil.Process(process.pid)
            found += [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    return found


def test_the_locked_build_runs_from_the_procfile_and_stops_within_herokus_grace(
    tmp_path: Path, redis_client, redis_url: str
) -> None:
    app_dir = clean_copy(tmp_path / "app")
    python_home = tmp_path / "python"
    buildpack_install(app_dir, python_home)
    installed = {
        p.name.split("-")[0].lower()
        for p in (python_home / "lib").glob("*/site-packages/*.dist-info")
    }
    assert {"flask", "rq", "redis", "granian", "prometheus_client"} <= installed
    assert not {"pytest", "hypothesis", "ruff", "mypy"} & installed, "the dev group reached a dyno"

    port = free_port()
    environment = {
        "PATH": f"{python_home / 'bin'}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": "2",
        "KLAXON_PUBLIC_URL": "https://klaxon.example",
        **SECRETS,
    }
    commands = procfile(app_dir)
    assert set(commands) == {"web", "worker", "release"}
    release = subprocess.run(
        ["bash", "-c", commands["release"]],
        cwd=app_dir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert release.returncode == 0, release.stdout + release.stderr

    processes = [start(commands["web"], app_dir, environment)]
    processes.append(start(commands["worker"], app_dir, environment))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert all(p.poll() is None for p in processes), "a Procfile process exited"
            assert time.monotonic() < deadline, "the web process never answered /readyz"
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.25)
        fixture = load_fixture("datadog", "triggered")
        answer = requests.post(
            f"{base}/webhooks/datadog",
            data=fixture.body,
            headers=authentic(fixture)[0],
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["outcome"] == "new"
    finally:
        everything = dyno(processes)
        for process in everything:  # Heroku signals every process of the dyno itself
            try:
                process.send_signal(signal.SIGTERM)
            except psutil.NoSuchProcess:
                pass
        started = time.monotonic()
        _, alive = psutil.wait_procs(everything, timeout=HEROKU_GRACE_SECONDS)
        took = time.monotonic() - started
        for process in alive:
            process.kill()
        for process in processes:
            process.wait(timeout=10)
    assert not alive, f"still running {took:.0f} s after SIGTERM: {[p.pid for p in alive]}"
