"""Load a rules directory into a RuleSet, or raise RulesError listing every problem.

Phase one checks each file's shape against app/ruleset/schema.py; phase two (build.py) checks
meaning while building the runtime values. A RuleSet exists only if both found nothing, so a
running process never swaps a valid rule set for an invalid one (it keeps the old on error)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from app.errors import RulesError
from app.ruleset.build import Builder
from app.ruleset.matchers import build_index
from app.ruleset.model import RuleSet, RulesVersion
from app.ruleset.problems import Problem
from app.ruleset.schema import RULES_FILE
from app.ruleset.sections import gather
from app.ruleset.shape import check_shape
from app.ruleset.yamlsource import SourceFile, read_source

PATTERNS = ("*.yml", "*.yaml")


def load_ruleset(path: str | Path) -> RuleSet:
    """The rule set in a directory of rules files (or one file); paths in problems are shown
    as given, e.g. `rules/routes.yml:12:5`.

    Raises:
        RulesError: with every problem found, each formatted as file:line:col: ...
    """
    files = rules_files(Path(path))
    sources, problems = _read_all(files)
    # Phase two runs on what phase one left (it prunes bad values), to report every problem.
    builder = Builder(gather(sources, problems), complete=not problems)
    ruleset = _build(builder, str(path), _version(files, Path(path)))
    problems += builder.problems
    if problems:
        raise RulesError([p.format() for p in sorted(problems, key=_order)])
    return ruleset


def reload_ruleset(current: RuleSet | None, path: str | Path) -> tuple[RuleSet | None, list[str]]:
    """The freshly loaded rule set and no problems, or `current` unchanged and the problems
    that kept the new one out: an invalid directory never replaces a valid rule set."""
    try:
        return load_ruleset(path), []
    except RulesError as error:
        return current, error.problems


def rules_files(path: Path) -> list[Path]:
    """The rules files in a directory, in the order their routes apply (by file name).

    Raises:
        RulesError: the path does not exist or holds no rules file.
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        # A relative path is read from the working directory: say which, since `klaxon`
        # started elsewhere than the repository is the usual way to get here.
        where = (
            ""
            if path.is_absolute()
            else f" (in {Path.cwd()}; set KLAXON_RULES_DIR or run from the repository)"
        )
        raise RulesError([f"{path}: no such rules directory or file{where}"])
    files = sorted({f for pattern in PATTERNS for f in path.glob(pattern)})
    if not files:
        raise RulesError([f"{path}: no rules files (*.yml) in this directory"])
    return files


def _read_all(files: list[Path]) -> tuple[list[SourceFile], list[Problem]]:
    sources, problems = [], []
    for file in files:
        source, found = read_source(str(file), file.read_text(encoding="utf-8"))
        if not found and source.data is not None and not isinstance(source.data, dict):
            found = [
                Problem(
                    source.name,
                    1,
                    1,
                    "",
                    "a rules file must be a mapping of sections",
                    "keys such as teams:, routes:, silences:",
                )
            ]
        if found:
            source.data = None
        sources.append(source)
        problems += found or check_shape(source, RULES_FILE)
    return sources, problems


def _build(builder: Builder, directory: str, version: RulesVersion) -> RuleSet:
    rules = builder.rules()
    services = builder.services()
    names = builder.service_names(services)
    components = builder.statuspage_components(services, names)
    return RuleSet(
        version=version,
        directory=directory,
        severities=builder.severities(),
        severity_maps=builder.severity_maps(),
        teams=builder.all_teams(),
        defaults=builder.defaults(),
        rules=rules,
        index=build_index(rule.matchers for rule in rules),
        inhibit_rules=builder.inhibit_rules(),
        silences=builder.silences(),
        statuspage_components=components,
        statuspage_groups=builder.statuspage_groups(components, names),
        services=services,
        service_names=names,
        slack=builder.slack_policy(),
        changes=builder.change_policy(),
        environment={k: e.value for k, e in builder.sections.mappings["environment"].items()},
    )


def _version(files: list[Path], path: Path) -> RulesVersion:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return RulesVersion(
        digest.hexdigest()[:12], _git_commit(path if path.is_dir() else path.parent)
    )


def _git_commit(directory: Path) -> str:
    """HEAD of the repository holding the rules, or "" (not a repo, no git): best effort."""
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _order(problem: Problem) -> tuple[str, int, int]:
    return problem.file, problem.line, problem.col
