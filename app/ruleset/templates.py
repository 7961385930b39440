"""Dedup-key templates such as "{{ source }}:{{ tags.monitor_id }}", compiled once.

Deliberately tiny (label substitution only, no Jinja): a dedup key is an identity, so it must
be cheap to render on every alert and impossible to make depend on anything but the labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.ruleset.labels import is_known_field
from app.ruleset.vocabulary import ALERT_FIELDS, DECISION_FIELDS

_PLACEHOLDER = re.compile(r"\{\{\s*(?P<name>[^{}\s]*)\s*\}\}")


class TemplateError(ValueError):
    def __init__(self, message: str, name: str = "") -> None:
        super().__init__(message)
        self.name = name  # the unknown field, for a "did you mean" hint


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    literals: tuple[str, ...]  # one more than fields: literal, field, literal, ...
    fields: tuple[str, ...]

    def render(self, labels: Mapping[str, str]) -> str | None:
        """The rendered key, or None when a field it names is absent: a key built from a
        missing tag would merge unrelated alerts, so the caller falls back to the identity."""
        parts = [self.literals[0]]
        for name, literal in zip(self.fields, self.literals[1:], strict=True):
            value = labels.get(name)
            if value is None:
                return None
            parts += (value, literal)
        return "".join(parts)


def compile_template(text: str) -> Template:
    """Raises:
    TemplateError: unbalanced braces, an empty placeholder or an unknown field."""
    literals, fields, last = [], [], 0
    for found in _PLACEHOLDER.finditer(text):
        literals.append(text[last : found.start()])
        fields.append(_field(found["name"]))
        last = found.end()
    literals.append(text[last:])
    if any("{{" in part or "}}" in part for part in literals):
        raise TemplateError("unbalanced '{{' or '}}'")
    if not fields:
        raise TemplateError("no {{ field }} placeholder, so every alert would get the same key")
    return Template(text, tuple(literals), tuple(fields))


def _field(name: str) -> str:
    if not name:
        raise TemplateError("empty placeholder '{{ }}'")
    if not is_known_field(name, DECISION_FIELDS):
        raise TemplateError(f"unknown field '{name}'", name)
    return name


def template_fields() -> tuple[str, ...]:
    return ALERT_FIELDS + DECISION_FIELDS + ("tags.<name>",)
