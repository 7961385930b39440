"""Message text for every channel, rendered from templates/ in a sandbox, fitted to the channel's
limits, and guarded before anything goes public.

    templates/<channel>/<event>.<field>.<ext>.j2    e.g. opsgenie/declared.message.txt.j2

`render()` is what a notification job calls; `check_templates()` is what `klaxon rules check`
and the release phase call (through workers/channels, which knows the channels). Callers pass
the templates directory (KLAXON_TEMPLATES_DIR). Pure: no Redis, no HTTP, nothing of workers/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from app.messages import limits
from app.messages.context import MessageEvent, NotificationContext
from app.messages.filters import FILTERS
from app.messages.fixtures import FIXTURES
from app.messages.public_guard import PublicLeak, known_from_vars, redact, scan
from app.plaintext import plain

DEFAULT_TEMPLATES_DIR = Path("templates")
Fixture = Callable[[MessageEvent], NotificationContext]
# Folders the web app renders itself (pages, post-mortem draft): not channel messages, so the
# coverage check leaves them alone; their syntax is still checked with the rest.
APP_FOLDERS = ("postmortem/", "web/")
E = MessageEvent


@dataclass(frozen=True, slots=True)
class Field:
    """One text field of a channel's messages, from templates/<channel>/<event>.<name>.<ext>.j2.

    ext:     "txt": one line, whitespace collapsed; "md": Markdown, line breaks kept
    limit:   at most this much of it, as `measure` counts (characters unless the vendor weighs)
    fit:     the text cut to `limit` (raises limits.DoesNotFit when it cannot be)
    measure: its size as the vendor counts it, in `unit`
    """

    name: str
    ext: str
    limit: int
    fit: Callable[[str, int], str]
    measure: Callable[[str], int] = len
    unit: str = "characters"

    def filename(self, event: MessageEvent) -> str:
        return f"{event.value}.{self.name}.{self.ext}.j2"


class TextChannel(Protocol):
    """What rendering reads of a channel (a Notifier has it): its text fields, whether the
    public reads it, and the events it deliberately says nothing about."""

    @property
    def name(self) -> str: ...
    @property
    def public(self) -> bool: ...
    @property
    def fields(self) -> tuple[Field, ...]: ...
    @property
    def silent(self) -> frozenset[MessageEvent]: ...


@dataclass(frozen=True, slots=True)
class Rendered:
    """The text of one message: `fields` maps each of the channel's field names to its final
    text, already within the channel's limits and, if public, guarded."""

    channel: str
    event: MessageEvent
    fields: dict[str, str]
    shortened: tuple[str, ...] = ()  # fields cut to fit their limit
    redacted: tuple[str, ...] = ()  # what the public guard removed, for the timeline

    def __getitem__(self, name: str) -> str:
        return self.fields[name]


class NoMessage(LookupError):
    """The channel deliberately says nothing for this event (its `silent`)."""


class RenderError(Exception):
    """A template could not be rendered: missing, broken, unsafe, or too long to fit."""


def has_message(channel: TextChannel, event: MessageEvent) -> bool:
    return event not in channel.silent


def render(
    channel: TextChannel,
    event: MessageEvent,
    ctx: NotificationContext,
    templates_dir: Path | str = DEFAULT_TEMPLATES_DIR,
    on_leak: Literal["redact", "raise"] = "redact",
) -> Rendered:
    """The message for `event` on `channel`, fitted to the channel's limits; public channels
    are redacted (or, with on_leak="raise", refused) where they would leak internal details.

    Raises:
        NoMessage: the channel deliberately has no message for this event.
        RenderError: a template is missing or fails, or the text cannot fit.
        PublicLeak: on_leak="raise" and a public field holds an internal detail."""
    if not has_message(channel, event):
        raise NoMessage(f"{channel} has no message for {event}")
    ctx = replace(ctx, event=event) if ctx.event != event else ctx
    template_vars = ctx.as_template_vars()
    if channel.public:
        # Only a service the rules declare is ever named in public (NotificationContext).
        template_vars["incident"] = {**ctx.incident, "service": ctx.public_service}
    texts, shortened, redacted = {}, [], []
    for field in channel.fields:
        text = _render_field(Path(templates_dir), channel.name, event, field, template_vars)
        if channel.public:
            # Plain text: markup a responder typed (<script>, [x](javascript:...)) goes out
            # as words (app/plaintext.py), then the guard redacts internal details.
            text = plain(text)
            where = f"{channel.name}/{field.filename(event)}"  # names the file in a leak
            text, removed = _guard(text, template_vars, on_leak, where)
            redacted += removed
        texts[field.name], was_cut = _fit(channel.name, field, text, event)
        shortened += [field.name] if was_cut else []
    return Rendered(channel.name, event, texts, tuple(shortened), tuple(redacted))


def _render_field(
    templates_dir: Path,
    channel: str,
    event: MessageEvent,
    field: Field,
    template_vars: dict[str, Any],
) -> str:
    name = f"{channel}/{field.filename(event)}"
    try:
        template = environment(resolved(templates_dir)).get_template(name)
    except TemplateNotFound as missing:
        raise RenderError(f"{name}: missing template in {templates_dir}") from missing
    text = template.render(template_vars)
    return _one_line(text) if field.ext == "txt" else _tidy_markdown(text)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _tidy_markdown(text: str) -> str:
    # Templates are easier to read with blank lines around blocks; keep at most one.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _guard(
    text: str, template_vars: dict[str, Any], on_leak: Literal["redact", "raise"], where: str
) -> tuple[str, list[str]]:
    findings = scan(text, known_from_vars(template_vars), template_vars["public"])
    if findings and on_leak == "raise":
        raise PublicLeak(findings, where)
    return redact(text, findings), [f.describe() for f in findings]


def _fit(channel: str, field: Field, text: str, event: MessageEvent) -> tuple[str, bool]:
    try:
        fitted = field.fit(text, field.limit)
    except limits.DoesNotFit as error:
        raise RenderError(
            f"{channel}/{field.filename(event)}: over {field.limit} {field.unit} "
            f"even after fitting: {error}"
        ) from error
    return fitted, fitted != text


@lru_cache(maxsize=8)
def resolved(templates_dir: Path | str) -> str:
    """The absolute path that names a templates directory's environment (once per path, not
    a filesystem walk per rendered field)."""
    return str(Path(templates_dir).resolve())


@lru_cache(maxsize=8)
def environment(templates_dir: str) -> SandboxedEnvironment:
    """The sandboxed Jinja environment for one templates directory: templates can read the
    context and call our filters, nothing else (no attribute tricks, no IO)."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=False,  # plain text and Markdown; vendors escape on display
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(FILTERS)
    return env


def check_templates(
    templates_dir: Path | str,
    channels: Iterable[TextChannel],
    fixtures: Mapping[str, Fixture] | None = None,
) -> list[str]:
    """Every problem with a templates directory, as "file[:line]: message" lines: syntax
    errors, missing or unexpected templates, and what rendering every template against every
    fixture context finds (undefined variables, unsafe calls, text that cannot fit its limit,
    internal details on a public channel). Empty means the templates are fit to ship."""
    root = Path(templates_dir)
    if not root.is_dir():
        return [f"{root}: templates directory not found"]
    told = list(channels)
    problems = _syntax_problems(root) + _coverage_problems(root, told)
    if problems:  # rendering broken or missing templates only repeats the same problems
        return problems
    return _render_problems(root, FIXTURES if fixtures is None else fixtures, told)


def _syntax_problems(root: Path) -> list[str]:
    env, problems = environment(str(root.resolve())), []
    for path in sorted(root.rglob("*.j2")):
        name = path.relative_to(root).as_posix()
        try:
            env.parse(path.read_text(encoding="utf-8"), name, name)
        except TemplateSyntaxError as error:
            problems.append(f"{name}:{error.lineno}: syntax error: {error.message}")
    return problems


def _coverage_problems(root: Path, channels: list[TextChannel]) -> list[str]:
    expected = {
        f"{channel.name}/{field.filename(event)}": (channel, event)
        for channel in channels
        for field in channel.fields
        for event in E
    }
    present = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*.j2")
        if not p.relative_to(root).as_posix().startswith(APP_FOLDERS)
    } - {"_macros.j2"}
    problems = []
    for name, (channel, event) in expected.items():
        if has_message(channel, event) and name not in present:
            problems.append(f"{name}: missing template: {channel.name} has a message for {event}")
        elif not has_message(channel, event) and name in present:
            problems.append(
                f"{name}: unexpected template: {channel.name} deliberately has no "
                f"message for {event} (its `silent` in workers/channels/{channel.name}.py)"
            )
    for name in sorted(present - expected.keys()):
        problems.append(
            f"{name}: unknown template: expected <channel>/<event>.<field>.<ext>.j2"
            " for a channel, event and field in workers/channels/"
        )
    return problems


def _render_problems(
    root: Path, fixtures: Mapping[str, Fixture], channels: list[TextChannel]
) -> list[str]:
    found: dict[str, list[str]] = {}  # problem -> fixtures showing it, in first-seen order
    for fixture_name, fixture in fixtures.items():
        for channel in channels:
            for event in (e for e in E if has_message(channel, e)):
                problem = _render_problem(root, channel, event, fixture(event))
                if problem:
                    found.setdefault(problem, []).append(fixture_name)
    return [f"{problem} (fixtures: {', '.join(names)})" for problem, names in found.items()]


def _render_problem(
    root: Path, channel: TextChannel, event: MessageEvent, ctx: NotificationContext
) -> str | None:
    where = f"{channel.name}/{event.value}.*"
    try:
        rendered = render(channel, event, ctx, root, on_leak="raise")
    except (UndefinedError, SecurityError) as error:
        kind = "undefined variable" if isinstance(error, UndefinedError) else "unsafe"
        return f"{_template_line(error, root) or where}: {kind}: {error}"
    except (PublicLeak, RenderError) as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - anything a template can raise: report it, never crash
        return f"{_template_line(error, root) or where}: {type(error).__name__}: {error}"
    return _over_limit(channel, rendered)


def _template_line(error: BaseException, root: Path) -> str:
    """file:line of the innermost template frame; Jinja maps its frames to template lines."""
    where, tb = "", error.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            where = f"{_relative(filename, root)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _relative(filename: str, root: Path) -> str:
    try:
        return Path(filename).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return filename


def _over_limit(channel: TextChannel, rendered: Rendered) -> str | None:
    # render() fits every field; this guards the guarantee itself.
    for field in channel.fields:
        size = field.measure(rendered[field.name])
        if size > field.limit:
            return (
                f"{rendered.channel}/{field.filename(rendered.event)}: "
                f"{size} > {field.limit} after fitting"
            )
    return None
