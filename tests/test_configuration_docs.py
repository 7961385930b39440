"""Every environment variable Klaxon reads is documented in the README and in app.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.errors import ConfigError
from app.settings import VARIABLES, Settings

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_variable_is_documented_in_readme(name: str) -> None:
    assert f"`{name}`" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize(
    "name", sorted(set(VARIABLES) - {"PORT", "WEB_CONCURRENCY", "REDIS_URL", "DYNO"})
)
def test_variable_is_described_in_app_json(name: str) -> None:
    env = json.loads((ROOT / "app.json").read_text())["env"]
    assert env[name]["description"]


def test_app_json_provisions_redis_and_both_process_types() -> None:
    manifest = json.loads((ROOT / "app.json").read_text())
    assert any(a["plan"].startswith("heroku-redis") for a in manifest["addons"])
    assert set(manifest["formation"]) == {"web", "worker"}


def test_app_json_requires_what_the_release_phase_refuses_a_dyno_without() -> None:
    """app/release.py refuses a dyno without these; the Heroku button must ask for them (or
    make them) so a new app's first release passes."""
    manifest = json.loads((ROOT / "app.json").read_text())
    env = manifest["env"]
    assert env["KLAXON_PUBLIC_URL"]["required"] is True
    assert env["KLAXON_API_TOKEN"]["generator"] == "secret"
    assert env.get("KLAXON_INSECURE_DEV", {}).get("value") is None
    # REDIS_URL comes from the add-on attached as REDIS.
    assert any(
        a["plan"].startswith("heroku-redis") and a["as"] == "REDIS" for a in manifest["addons"]
    )


def test_the_readme_heroku_path_passes_the_release_phase() -> None:
    """Following the README's Heroku commands sets everything `klaxon release` requires on a
    dyno: the variables its `heroku config:set` names, REDIS_URL from the add-on it creates."""
    import re

    from app.release import check_release

    section = (ROOT / "README.md").read_text().split("## Deploying to Heroku", 1)[1]
    commands = section.split("```sh", 1)[1].split("```", 1)[0]
    assert "heroku addons:create heroku-redis" in commands
    config_set = commands.split("heroku config:set", 1)[1].split("\ngit push", 1)[0]
    names = re.findall(r"\b([A-Z][A-Z0-9_]+)=", config_set)
    assert "KLAXON_PUBLIC_URL" in names
    environ = {name: "value-from-the-readme" for name in names}
    environ.update(
        KLAXON_PUBLIC_URL="https://my-klaxon-0123abcd.herokuapp.com/",
        KLAXON_TRUSTED_PROXIES="1",
        REDIS_URL="rediss://:password@ec2.example:6380",
        DYNO="release.1",
        KLAXON_RULES_DIR=str(ROOT / "rules"),
        KLAXON_TEMPLATES_DIR=str(ROOT / "templates"),
    )
    check = check_release(environ)
    assert check.problems == [] and check.warnings == []
    assert "KLAXON_TRUSTED_PROXIES=1" in config_set


def test_procfile_has_web_worker_and_release() -> None:
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert "$PORT" in lines["web"]
    assert lines["worker"].strip() == "python -m workers"
    assert lines["release"].strip() == "klaxon release"


def test_invalid_numbers_are_all_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"KLAXON_MAX_BODY": "1MB", "KLAXON_DELIVERY_TTL": "-5"})
    assert raised.value.problems == [
        "KLAXON_MAX_BODY must be a whole number of bytes, got '1MB'",
        "KLAXON_DELIVERY_TTL must be positive, got -5",
    ]


def test_pagerduty_secrets_are_split_for_rotation() -> None:
    settings = Settings.from_env({"PAGERDUTY_WEBHOOK_SECRET": " old-secret , new-secret "})
    assert settings.pagerduty_webhook_secrets == ("old-secret", "new-secret")


def _as_on_a_dyno() -> None:
    """A dyno's processes start with default signal handling and nothing blocked; the test
    runner's own state (threads, in-process workers) must not leak into the child."""
    import signal

    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def test_procfile_web_line_serves_on_port_with_web_concurrency(
    redis_url, redis_client, tmp_path
) -> None:
    """Run the Procfile's web command as Heroku would (bash, $PORT, $WEB_CONCURRENCY)."""
    import os
    import signal
    import socket
    import subprocess
    import time

    import requests
    from conftest import SECRETS

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    web = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())["web"]
    env = {
        **os.environ,
        **SECRETS,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "REDIS_URL": redis_url,
        "KLAXON_RULES_DIR": str(ROOT / "rules"),
        "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}",
    }
    log = tmp_path / "web.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            ["bash", "-c", f"exec {web}"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
            start_new_session=True,
            preexec_fn=_as_on_a_dyno,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                if response.ok:
                    break
            except requests.RequestException:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "web never ready"
            time.sleep(0.2)
        assert response.json()["checks"] == {"redis": "ok", "workers": "ok", "rules": "ok"}
        # Both workers booted (WEB_CONCURRENCY=2). A SIGTERM that lands while a worker is still
        # importing makes granian wait for it; on Heroku the 30 s SIGKILL ends that anyway.
        while log.read_text().count("Started worker-") < 2:
            assert time.monotonic() < deadline, "second web worker never started"
            time.sleep(0.1)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # Heroku signals every process of the dyno
        try:
            server.wait(timeout=30)  # Heroku's grace period before SIGKILL
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            raise AssertionError(
                "web did not stop within Heroku's 30 s after SIGTERM:\n" + log.read_text()[-3000:]
            ) from None


def test_worker_processes_default_and_invalid_values() -> None:
    assert Settings.from_env({}).worker_processes == 2
    assert Settings.from_env({"KLAXON_WORKER_PROCESSES": "4"}).worker_processes == 4
    for raw, problem in (
        ("many", "a whole number of processes, got 'many'"),
        ("0", "positive, got 0"),
    ):
        with pytest.raises(ConfigError) as raised:
            Settings.from_env({"KLAXON_WORKER_PROCESSES": raw})
        assert raised.value.problems == [f"KLAXON_WORKER_PROCESSES must be {problem}"]
