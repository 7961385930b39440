"""`klaxon release`, the Procfile's release phase: on a dyno it refuses a deployment that would
run but serve nobody, listing every problem in one message and never a secret's value."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.release import SOURCE_SECRETS
from app.settings import VARIABLES

ROOT = Path(__file__).parent.parent
BAD_RULE = ROOT / "tests" / "data" / "rules" / "bad" / "bad_enum_page_mode.yml"

SECRET_VALUES = {
    "KLAXON_API_TOKEN": "api-token-0b6c1d9e4f",
    "DATADOG_WEBHOOK_TOKEN": "datadog-token-5a7e2c",
    "PAGERDUTY_WEBHOOK_SECRET": "pd-old-secret-81f2,pd-new-secret-93c4",
    "REDIS_URL": "rediss://:redis-password-4e8d1a@ec2-1-2-3-4.compute.example:6380",
}
HEALTHY_DYNO = {
    "DYNO": "release.1234",
    "KLAXON_PUBLIC_URL": "https://my-klaxon.herokuapp.com",
    "KLAXON_TRUSTED_PROXIES": "1",
    "KLAXON_RULES_DIR": str(ROOT / "rules"),
    "KLAXON_TEMPLATES_DIR": str(ROOT / "templates"),
    **SECRET_VALUES,
}


@pytest.fixture
def release(monkeypatch):
    """`klaxon release` in exactly the environment given (nothing of the test runner's)."""

    def run(environ: dict[str, str]) -> tuple[int, str]:
        for name in [*VARIABLES, "DYNO"]:
            monkeypatch.delenv(name, raising=False)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(main, ["release"])
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), result.exception
        return result.exit_code, result.output

    return run


def _without(*names: str, **changes: str) -> dict[str, str]:
    env = {k: v for k, v in HEALTHY_DYNO.items() if k not in names}
    return {**env, **changes}


def test_a_healthy_dyno_configuration_is_released(release) -> None:
    code, output = release(HEALTHY_DYNO)
    assert code == 0, output
    assert "configuration: ok" in output and "rules: ok" in output and "templates: ok" in output
    assert "warning" not in output


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (_without("KLAXON_PUBLIC_URL"), "KLAXON_PUBLIC_URL is not set"),
        (
            _without(KLAXON_PUBLIC_URL="http://my-klaxon.herokuapp.com"),
            "KLAXON_PUBLIC_URL must be an https:// URL, got 'http://my-klaxon.herokuapp.com'",
        ),
        (_without(KLAXON_PUBLIC_URL="https://"), "KLAXON_PUBLIC_URL must be an https:// URL"),
        (_without("KLAXON_API_TOKEN"), "KLAXON_API_TOKEN is not set"),
        (
            _without("DATADOG_WEBHOOK_TOKEN", "PAGERDUTY_WEBHOOK_SECRET"),
            "no webhook source has a secret, every alert would be refused",
        ),
        (_without(PAGERDUTY_WEBHOOK_SECRET=" , ", DATADOG_WEBHOOK_TOKEN=""), "no webhook source"),
        (_without("REDIS_URL"), "REDIS_URL is not set"),
        (_without(KLAXON_INSECURE_DEV="1"), "KLAXON_INSECURE_DEV is on"),
    ],
)
def test_each_broken_deployment_is_refused_on_a_dyno(release, environ, expected) -> None:
    code, output = release(environ)
    assert code == 1
    assert "release refused, 1 problem:" in output
    assert f"  - {expected}" in output


def test_every_problem_is_listed_in_one_message_without_a_secret(release, tmp_path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(BAD_RULE, rules / "rules.yml")
    environ = {
        "DYNO": "release.1234",
        "KLAXON_PUBLIC_URL": "http://user:url-password-77c1@my-klaxon.example.com/",
        "KLAXON_MAX_BODY": "1MB",
        "KLAXON_RULES_DIR": str(rules),
        "KLAXON_TEMPLATES_DIR": str(ROOT / "templates"),
        "KLAXON_INSECURE_DEV": "1",
        **SECRET_VALUES,
    }
    del environ["KLAXON_API_TOKEN"], environ["DATADOG_WEBHOOK_TOKEN"]
    del environ["PAGERDUTY_WEBHOOK_SECRET"], environ["REDIS_URL"]
    code, output = release(environ)
    assert code == 1
    problems = [line for line in output.splitlines() if line.startswith("  - ")]
    assert output.count("release refused") == 1
    assert f"release refused, {len(problems)} problems:" in output
    for expected in (
        "KLAXON_MAX_BODY must be a whole number of bytes",
        f"{rules}/rules.yml:",
        "KLAXON_PUBLIC_URL must be an https:// URL, got 'http://my-klaxon.example.com'",
        "KLAXON_API_TOKEN is not set",
        "no webhook source has a secret, every alert is accepted unsigned",
        "KLAXON_INSECURE_DEV is on",
        "REDIS_URL is not set",
    ):
        assert any(expected in problem for problem in problems), (expected, output)
    assert "url-password" not in output and "user:" not in output

    # The secrets themselves, set beside other problems, never appear.
    code, output = release(_without(KLAXON_PUBLIC_URL="http://x.example", KLAXON_MAX_BODY="-1"))
    assert code == 1 and "2 problems" in output
    for value in SECRET_VALUES.values():
        for part in value.split(","):
            assert part not in output
    assert "redis-password" not in output


@pytest.mark.parametrize("name", SOURCE_SECRETS)
def test_any_one_source_secret_is_enough(release, name) -> None:
    assert VARIABLES[name].secret, f"{name} is a secret"
    environ = _without("DATADOG_WEBHOOK_TOKEN", "PAGERDUTY_WEBHOOK_SECRET", **{name: "s3cret-xyz"})
    code, output = release(environ)
    assert code == 0, output


def test_off_a_dyno_the_same_problems_are_warnings(release) -> None:
    environ = _without("DYNO", "KLAXON_PUBLIC_URL", "KLAXON_API_TOKEN", "REDIS_URL")
    code, output = release(environ)
    assert code == 0, output
    assert "warning: KLAXON_PUBLIC_URL is not set" in output
    assert "warning: KLAXON_API_TOKEN is not set" in output
    assert "warning: REDIS_URL is not set" in output


def test_the_procfile_release_line_exits_non_zero(tmp_path) -> None:
    """As Heroku runs it: the Procfile's command through bash; the exit status is what stops
    the release."""
    release = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(
        DYNO="release.1",
        KLAXON_RULES_DIR=str(ROOT / "rules"),
        KLAXON_TEMPLATES_DIR=str(ROOT / "templates"),
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    done = subprocess.run(
        ["bash", "-c", f"exec {release['release']}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "release refused, 4 problems:" in done.stderr
    assert "Traceback" not in done.stderr
