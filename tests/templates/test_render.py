"""render(): the sandbox, StrictUndefined, limits enforced at render time, the public guard,
and the table of deliberate silences; check_templates() on broken directories."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from jinja2.sandbox import SecurityError

from app.messages.context import MessageEvent
from app.messages.fixtures import checkout_latency, long_everything
from app.messages.limits import OPSGENIE_MESSAGE_MAX, X_MAX_WEIGHTED, x_weighted_length
from app.messages.public_guard import REDACTED, PublicLeak
from app.messages.render import NoMessage, RenderError, render
from workers.channels import CHANNELS, Channel, check_templates

TEMPLATES = Path(__file__).parents[2] / "templates"
E = MessageEvent


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A private copy of templates/ that a test may break."""
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    return copy


def write(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


def test_shipped_templates_have_no_problems() -> None:
    assert check_templates(TEMPLATES) == []


def test_render_returns_the_channel_fields() -> None:
    rendered = render(
        CHANNELS[Channel.OPSGENIE], E.DECLARED, checkout_latency(E.DECLARED), TEMPLATES
    )
    assert set(rendered.fields) == {"message", "description"}
    assert rendered["message"] == "[SEV2] checkout-api p99 latency > 2s on web-03"


def test_a_deliberately_silent_pair_raises_no_message() -> None:
    assert E.UPDATE_POSTED in CHANNELS[Channel.PAGERDUTY].silent
    with pytest.raises(NoMessage):
        render(
            CHANNELS[Channel.PAGERDUTY],
            E.UPDATE_POSTED,
            checkout_latency(E.UPDATE_POSTED),
            TEMPLATES,
        )


def test_limits_are_enforced_at_render_time() -> None:
    ctx = long_everything(E.UPDATE_POSTED)
    opsgenie = render(CHANNELS[Channel.OPSGENIE], E.UPDATE_POSTED, ctx, TEMPLATES)
    post = render(CHANNELS[Channel.X], E.UPDATE_POSTED, ctx, TEMPLATES)["post"]
    assert len(opsgenie["message"]) <= OPSGENIE_MESSAGE_MAX
    assert x_weighted_length(post) <= X_MAX_WEIGHTED
    assert "https://status.example.com/incidents/8k2m4n6p" in post


def test_opsgenie_message_is_cut_with_an_ellipsis(templates: Path) -> None:
    write(templates, "opsgenie/declared.message.txt.j2", "{{ incident.title * 20 }}")
    message = render(
        CHANNELS[Channel.OPSGENIE], E.DECLARED, checkout_latency(E.DECLARED), templates
    )
    assert len(message["message"]) == OPSGENIE_MESSAGE_MAX or message["message"].endswith("…")
    assert message.shortened == ("message",)


def test_a_public_leak_is_redacted_by_default_and_refused_on_request(templates: Path) -> None:
    write(
        templates,
        "x/update_posted.post.txt.j2",
        "Slow on {{ alerts[0].host }}, says {{ incident.commander }}. {{ links.status_page }}",
    )
    ctx = checkout_latency(E.UPDATE_POSTED)
    rendered = render(CHANNELS[Channel.X], E.UPDATE_POSTED, ctx, templates)
    assert rendered["post"] == (
        f"Slow on {REDACTED}, says {REDACTED}. https://status.example.com/incidents/8k2m4n6p"
    )
    assert rendered.redacted == ("hostname 'web-03' (hosts)", "people 'Marco Bianchi' (people)")
    with pytest.raises(PublicLeak):
        render(CHANNELS[Channel.X], E.UPDATE_POSTED, ctx, templates, on_leak="raise")
    allowed = replace(ctx, public=frozenset({"hosts", "people"}))
    assert render(CHANNELS[Channel.X], E.UPDATE_POSTED, allowed, templates)["post"] == (
        "Slow on web-03, says Marco Bianchi. https://status.example.com/incidents/8k2m4n6p"
    )


def test_the_sandbox_refuses_unsafe_calls(templates: Path) -> None:
    write(
        templates,
        "pagerduty/declared.summary.txt.j2",
        "{{ incident.__class__.__mro__[1].__subclasses__() }}",
    )
    with pytest.raises(SecurityError):
        render(CHANNELS[Channel.PAGERDUTY], E.DECLARED, checkout_latency(E.DECLARED), templates)


def test_a_misspelled_variable_fails(templates: Path) -> None:
    write(templates, "pagerduty/declared.summary.txt.j2", "{{ incident.titel }}")
    with pytest.raises(UndefinedError):
        render(CHANNELS[Channel.PAGERDUTY], E.DECLARED, checkout_latency(E.DECLARED), templates)


def test_a_missing_template_is_an_error(templates: Path) -> None:
    (templates / "x/resolved.post.txt.j2").unlink()
    with pytest.raises(RenderError, match="x/resolved.post.txt.j2: missing template"):
        render(CHANNELS[Channel.X], E.RESOLVED, checkout_latency(E.RESOLVED), templates)


def test_check_reports_syntax_and_coverage_problems(templates: Path) -> None:
    write(templates, "opsgenie/declared.message.txt.j2", "{{ m.sev() }\n\n{% if %}")
    write(templates, "pagerduty/resolved.summary.txt.j2", "resolved")
    write(templates, "x/declrd.post.txt.j2", "typo")
    (templates / "statuspage/resolved.body.md.j2").unlink()
    assert check_templates(templates) == [
        "opsgenie/declared.message.txt.j2:1: syntax error: unexpected '}'",
        "pagerduty/resolved.summary.txt.j2: unexpected template: pagerduty deliberately has "
        "no message for resolved (its `silent` in workers/channels/pagerduty.py)",
        "statuspage/resolved.body.md.j2: missing template: statuspage has a message for resolved",
        "x/declrd.post.txt.j2: unknown template: expected <channel>/<event>.<field>.<ext>.j2 "
        "for a channel, event and field in workers/channels/",
    ]


def test_check_reports_render_problems_with_file_and_line(templates: Path) -> None:
    write(
        templates,
        "pagerduty/declared.summary.txt.j2",
        "[{{ incident.severity }}]\n{{ incident.titel }}",
    )
    write(templates, "pagerduty/escalated.summary.txt.j2", "{{ ''.__class__.__mro__ }}")
    write(templates, "statuspage/declared.name.txt.j2", "Slow on {{ alerts[0].host }}")
    write(
        templates,
        "x/resolved.post.txt.j2",
        "{% for i in range(13) %}{{ links.status_page }}/{{ i }} {% endfor %}",
    )
    assert check_templates(templates, {"checkout_latency": checkout_latency}) == [
        "pagerduty/declared.summary.txt.j2:2: undefined variable: 'dict object' has no "
        "attribute 'titel' (fixtures: checkout_latency)",
        "pagerduty/escalated.summary.txt.j2:1: unsafe: access to attribute '__class__' of "
        "'str' object is unsafe. (fixtures: checkout_latency)",
        "statuspage/declared.name.txt.j2: internal details in public text: hostname 'web-03' "
        "(hosts) (fixtures: checkout_latency)",
        "x/resolved.post.txt.j2: over 280 weighted characters even after fitting: 31 weighted "
        "characters too long and nothing left to cut (fixtures: checkout_latency)",
    ]


def test_check_reports_a_missing_directory(tmp_path: Path) -> None:
    assert check_templates(tmp_path / "nope") == [
        f"{tmp_path / 'nope'}: templates directory not found"
    ]
