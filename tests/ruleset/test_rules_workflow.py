"""The pull-request workflow for rules (.github/workflows/rules.yml): it parses, keeps check
and test, and its diff step, run as GitHub runs it in a small repository with a base and a
head commit, writes what the change does to the job summary."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(".github/workflows/rules.yml")


def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def steps() -> list[dict[str, Any]]:
    return workflow()["jobs"]["rules"]["steps"]


def step(name: str) -> dict[str, Any]:
    [found] = [s for s in steps() if s.get("name") == name]
    return found


def test_the_workflow_runs_on_rules_pull_requests_and_keeps_check_and_test() -> None:
    triggers = workflow()[True]  # YAML 1.1 reads the key `on` as true
    assert "rules/**" in triggers["pull_request"]["paths"]
    checkout = steps()[0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    assert step("klaxon rules check")["run"] == "klaxon rules check rules"
    assert step("klaxon rules test")["run"] == "klaxon rules test rules"
    names = [s.get("name") for s in steps()]
    assert names.index("klaxon rules check") < names.index("klaxon rules diff")


def test_the_diff_step_compares_the_base_commit_with_the_head(tmp_path: Path) -> None:
    diff = step("klaxon rules diff")
    assert "klaxon rules diff" in diff["run"] and "--format markdown" in diff["run"]
    assert diff["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    repo = tmp_path / "repo"
    shutil.copytree("rules", repo / "rules")
    for data in ("webhooks", "webhooks_real", "stories"):
        shutil.copytree(f"tests/data/{data}", repo / "tests" / "data" / data)
    base = _commit(repo, "base")
    routes = repo / "rules" / "routes.yml"
    routes.write_text(
        routes.read_text().replace(
            "    team: search\n    severity: SEV2", "    team: search\n    severity: SEV1"
        )
    )
    _commit(repo, "head")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier steps' summary\n")
    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    env = {
        **os.environ,
        "BASE_SHA": base,
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_STEP_SUMMARY": str(summary),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    # As GitHub runs a `run:` script on Linux.
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", diff["run"]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = summary.read_text()
    assert text.startswith("earlier steps' summary\n### Rules diff: 1 of 47 alerts change\n")
    assert f"replayed under `{runner_temp}/base/rules`" in text
    assert "| severity | `SEV2` | `SEV1` |" in text
    assert "| outages in one incident | 4/4 | 4/4 |" in text  # the stories' counts


def _commit(repo: Path, message: str) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            [
                "git",
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "-c",
                "init.defaultBranch=main",
                *args,
            ],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    if not (repo / ".git").exists():
        git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", message)
    return git("rev-parse", "HEAD")
