"""Every answer a store script can give has a member in the enum its caller reads it with:
callers compare `is Acted.UPDATED`, never text, so an answer the enum lacks would raise
ValueError at the first call that gets it (as every merge did before Acted had merged)."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from app.models import Outcome
from app.store.incidents import Acted, Declaration, Notify, Resolution

STORE = Path(__file__).parent.parent / "app" / "store"


def _answers(script: str, pattern: str) -> set[str]:
    found = set(re.findall(pattern, (STORE / script).read_text()))
    assert found, f"no answers found in {script}: the pattern no longer fits the script"
    return found


@pytest.mark.parametrize(
    ("script", "pattern", "enum"),
    [
        ("lifecycle.lua", r"reply\('(\w+)'", Acted),
        ("declare.lua", r"return '(\w+)'", Declaration),
        ("resolve.lua", r"return '(\w+)'", Resolution),
        ("correlate.lua", r"answer\('(\w+)'", Outcome),
        ("correlate.lua", r"outcome = '(\w+)'", Outcome),
        # the notify argument: the first quoted word after outcome and incident
        ("correlate.lua", r"answer\('\w+', \w+, [^\n]*?'(\w+)'", Notify),
    ],
)
def test_every_answer_of_a_script_is_a_member_of_its_enum(
    script: str, pattern: str, enum: type[StrEnum]
) -> None:
    assert _answers(script, pattern) <= {member.value for member in enum}
