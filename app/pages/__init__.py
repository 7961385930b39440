"""Server-rendered pages from templates/web/: the public status page and its feed, and the
internal incident pages. `register` hooks them into create_app."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from jinja2 import FileSystemLoader, StrictUndefined

from app.messages.wording import duration, impact_title, iso, status_word, utc
from app.pages import auth, internal, public, statusapi, subscribe
from app.settings import Settings


def register(app: Flask, settings: Settings) -> None:
    app.jinja_loader = FileSystemLoader(str(settings.templates_dir / "web"))
    # Flask only autoescapes .html/.xml names; ours end in .j2, so escape everything (the
    # pages show text from webhooks).
    app.jinja_env.autoescape = True
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters.update(
        {
            "duration": duration,
            "utc": utc,
            "iso": iso,
            "status_word": status_word,
            "impact_title": impact_title,
            "pretty_json": pretty_json,
        }
    )
    auth.configure(app, settings.api_token, settings.session_cookie_secure)
    app.register_blueprint(public.blueprint)
    app.register_blueprint(internal.blueprint)
    app.register_blueprint(statusapi.blueprint)
    app.register_blueprint(subscribe.blueprint)
    # The status page's footer links to the subscribe form when subscriptions are on.
    subscriptions_open = bool(settings.subscribers_secret)
    app.context_processor(lambda: {"subscriptions_open": subscriptions_open})


def pretty_json(value: Any) -> str:
    """JSON for people to read on a page: indented, characters as they are ("We're", "é").
    Flask's tojson escapes ' < > & as \\u0027 ... for use inside <script>; a page shows JSON
    in <pre>, where autoescaping is what keeps it inert."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
