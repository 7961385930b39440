"""How a rules problem is reported: `file:line:col: path: message`, then what was expected and
a "did you mean" hint, the form editors and CI can jump to (style.md §2.7)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int  # 1-based, like every editor
    col: int
    path: str
    message: str
    expected: str = ""
    hint: str = ""

    def format(self) -> str:
        where = f"{self.path}: " if self.path else ""
        text = f"{self.file}:{self.line}:{self.col}: {where}{self.message}"
        if self.expected:
            text += f"\n    expected {self.expected}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A "did you mean 'x'?" hint, or "" when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def one_of(choices: Iterable[str]) -> str:
    return "one of: " + ", ".join(choices)


def format_path(path: tuple[str | int, ...]) -> str:
    """`routes[2].match.service` from ('routes', 2, 'match', 'service')."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
