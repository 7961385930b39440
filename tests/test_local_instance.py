"""Which Redis `klaxon outbox`, `failed` and `maintenance` use without REDIS_URL: the running
`klaxon run`'s (its .klaxon/run.json), or none, said plainly. Over a real `klaxon run` in
tests/test_localrun.py; here the state file and the commands' answers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.clock import SystemClock
from app.local_instance import STATE_FILE, find_running, remove_state, write_state
from app.store.maintenance import MaintenanceMode

NOT_FOUND = "no REDIS_URL and no running `klaxon run` found"


@pytest.fixture
def no_redis_url(monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("command", [["outbox"], ["failed"], ["maintenance", "status"]])
def test_without_redis_url_or_klaxon_run_the_commands_say_so(no_redis_url, command) -> None:
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert NOT_FOUND in result.output
    assert "start `./dev run` in this directory, or set REDIS_URL" in result.output


def test_a_state_file_whose_klaxon_run_is_gone_is_ignored(no_redis_url) -> None:
    (no_redis_url / STATE_FILE).parent.mkdir()
    pid = _dead_pid()
    (no_redis_url / STATE_FILE).write_text(
        json.dumps({"pid": pid, "redis_url": "unix:///nowhere.sock", "web_url": "x"})
    )
    result = CliRunner().invoke(main, ["outbox"])
    assert result.exit_code == 1
    assert NOT_FOUND in result.output
    assert f"names pid {pid}, which is not running" in result.output


def test_the_running_instance_is_found_from_a_subdirectory(
    no_redis_url, redis_url, redis_client, monkeypatch
) -> None:
    state = write_state(no_redis_url, redis_url, "http://127.0.0.1:8123")
    monkeypatch.chdir(no_redis_url / STATE_FILE.parent)  # a directory below the one it runs in
    outbox = CliRunner().invoke(main, ["outbox"])
    assert outbox.exit_code == 0, outbox.output
    assert f"using the Redis of `klaxon run` (pid {os.getpid()}, http://127.0.0.1:8123)" in (
        outbox.output
    )
    assert "outbox is empty" in outbox.output
    failed = CliRunner().invoke(main, ["failed"])
    assert failed.exit_code == 0 and "no failed jobs" in failed.output

    on = CliRunner().invoke(main, ["maintenance", "on", "--until", "2h", "--by", "Lee"])
    assert on.exit_code == 0, on.output
    assert "maintenance: on for all services" in on.output
    window = MaintenanceMode(redis_client, SystemClock()).current()
    assert window is not None and window.by == "Lee"
    assert 7100 < window.until - SystemClock().now() <= 7200

    remove_state(state)
    assert not state.exists()
    assert NOT_FOUND in CliRunner().invoke(main, ["outbox"]).output


def test_redis_url_wins_and_is_not_announced(no_redis_url, redis_url, redis_client) -> None:
    write_state(no_redis_url, "unix:///nowhere.sock", "http://127.0.0.1:8123")
    result = CliRunner().invoke(main, ["outbox"], env={"REDIS_URL": redis_url})
    assert result.exit_code == 0, result.output
    assert result.output == "outbox is empty\n"


def test_a_password_in_the_redis_url_is_never_written_down(no_redis_url) -> None:
    path = write_state(no_redis_url, "redis://:hunter2-secret@127.0.0.1:6379/0", "http://x")
    assert "hunter2" not in path.read_text()
    assert find_running(no_redis_url).redis_url == ""
    result = CliRunner().invoke(main, ["outbox"])
    assert result.exit_code == 1
    assert "set the same REDIS_URL here" in result.output


def test_only_its_own_state_file_is_removed(no_redis_url) -> None:
    path = no_redis_url / STATE_FILE
    path.parent.mkdir()
    path.write_text(json.dumps({"pid": _dead_pid(), "redis_url": "", "web_url": ""}))
    remove_state(path)  # another `klaxon run` wrote it since
    assert path.exists()


def test_klaxon_run_links_to_where_it_listens_unless_told_otherwise(monkeypatch) -> None:
    from app.localrun import prepare_environment, public_url

    assert public_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert public_url("0.0.0.0", 8123) == "http://127.0.0.1:8123"  # every interface
    assert public_url("::1", 8123) == "http://[::1]:8123"
    given = {"REDIS_URL": "redis://127.0.0.1:1/0", "KLAXON_PUBLIC_URL": "https://k.example"}
    assert prepare_environment(given, "http://127.0.0.1:8123")["KLAXON_PUBLIC_URL"] == (
        "https://k.example"
    )
    without = prepare_environment({"REDIS_URL": "redis://127.0.0.1:1/0"}, "http://127.0.0.1:8123")
    assert without["KLAXON_PUBLIC_URL"] == "http://127.0.0.1:8123"
