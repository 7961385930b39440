"""Every template rendered against every fixture incident, compared with the committed text in
tests/golden/<channel>/<event>__<fixture>.txt. After a deliberate template change, rewrite them
with `pytest tests/templates --update-golden` (or KLAXON_UPDATE_GOLDEN=1) and read the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.messages.context import MessageEvent
from app.messages.fixtures import FIXTURES
from app.messages.render import has_message, render
from workers.channels import CHANNELS

TEMPLATES = Path(__file__).parents[2] / "templates"
GOLDEN = Path(__file__).parents[1] / "golden"
CASES = [
    (channel, event, fixture)
    for channel in CHANNELS
    for event in MessageEvent
    if has_message(CHANNELS[channel], event)
    for fixture in FIXTURES
]


def golden_text(channel, event, fixture: str) -> str:
    rendered = render(CHANNELS[channel], event, FIXTURES[fixture](event), TEMPLATES)
    lines = [f"# {channel}/{event} · fixture {fixture}"]
    lines += [f"# shortened to fit: {', '.join(rendered.shortened)}"] if rendered.shortened else []
    lines += [f"# redacted: {r}" for r in rendered.redacted]
    for name, text in rendered.fields.items():
        lines += [f"## {name}", text]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "channel, event, fixture", CASES, ids=[f"{c}-{e}-{f}" for c, e, f in CASES]
)
def test_rendered_text_matches_golden(channel, event, fixture, request) -> None:
    path = GOLDEN / channel / f"{event}__{fixture}.txt"
    text = golden_text(channel, event, fixture)
    if request.config.getoption("--update-golden") or os.environ.get("KLAXON_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run pytest --update-golden and review it"
    assert text == path.read_text(encoding="utf-8")


def test_no_golden_file_is_left_over() -> None:
    expected = {f"{c}/{e}__{f}.txt" for c, e, f in CASES}
    present = {p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*.txt")}
    assert present - expected == set()
