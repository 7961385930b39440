"""Every answer a store script can give is a member of the enum its Python caller turns it
into: a new `reply('...')` in a script without its enum member would raise ValueError in the
middle of an action (as a merge and a pinned Slack message once did)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from app.store.incidents import Declaration, Lifecycle, Resolution

STORE = Path(__file__).resolve().parent.parent / "app" / "store"


def answers(script: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, (STORE / script).read_text()))


@pytest.mark.parametrize(
    ("script", "pattern", "enum"),
    [
        ("lifecycle.lua", r"reply\('([a-z_]+)'", Lifecycle),
        ("resolve.lua", r"return '([a-z_]+)'", Resolution),
        ("declare.lua", r"return '([a-z_]+)'", Declaration),
    ],
)
def test_every_answer_of_a_script_is_a_member_of_its_enum(
    script: str, pattern: str, enum: type[StrEnum]
) -> None:
    found = answers(script, pattern)
    assert found, f"{script}: the pattern found no answers (did the script's shape change?)"
    assert found <= {member.value for member in enum}, found - {m.value for m in enum}
