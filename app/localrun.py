"""`klaxon run`: the whole of Klaxon on one machine with nothing installed but Python.

An embedded Redis when REDIS_URL is unset, the worker (with its scheduler) as a child process,
the web app in the foreground, KLAXON_INSECURE_DEV so sources without secrets accept unsigned
requests, and every channel without credentials writing to the outbox.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click

from app.local_instance import STATE_FILE, remove_state, write_state

DATA_DIR = Path(".klaxon")


def public_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches the web process: the links in messages and
    the feed point here unless KLAXON_PUBLIC_URL says otherwise."""
    if host in ("", "0.0.0.0", "::"):  # every interface: loopback is one of them
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def prepare_environment(environ: dict[str, str], web_url: str) -> dict[str, str]:
    """The environment the web and worker processes share; starts Redis if none is given."""
    env = dict(environ)
    env.setdefault("KLAXON_PUBLIC_URL", web_url)
    if not env.get("REDIS_URL"):
        from app.store.connection import start_embedded

        DATA_DIR.mkdir(exist_ok=True)
        env["REDIS_URL"] = start_embedded(str(DATA_DIR.resolve()))
    env.setdefault("KLAXON_INSECURE_DEV", "1")
    env.setdefault("KLAXON_API_TOKEN", "dev-" + secrets.token_urlsafe(12))
    return env


def run(host: str, port: int) -> None:
    # SIGTERM (Ctrl-C's quieter sibling, and what process managers send) must unwind through
    # the finally below so the worker and the embedded Redis stop with us.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    web_url = public_url(host, port)
    env = prepare_environment(dict(os.environ), web_url)
    os.environ.update(env)  # the web app, in this process, reads its settings from here
    worker = subprocess.Popen([sys.executable, "-m", "workers"], env=env)
    directory = Path.cwd()
    try:
        # For `klaxon outbox`, `failed`, `maintenance` run from here (app/local_instance.py).
        write_state(directory, env["REDIS_URL"], web_url)
        _banner(web_url, env)
        from werkzeug.serving import run_simple

        from app import create_app

        run_simple(host, port, create_app(), threaded=True, use_reloader=False)
    finally:
        remove_state(directory / STATE_FILE)
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def _banner(base: str, env: dict[str, str]) -> None:
    click.echo(
        f"""
Klaxon is running at {base}
  Redis        {_without_password(env["REDIS_URL"])}
  Webhooks     POST {base}/webhooks/<pagerduty|sentry|opsgenie|datadog|alertmanager|grafana>
  API token    {env["KLAXON_API_TOKEN"]}   (Authorization: Bearer ...)
  Outbox       {base}/api/outbox   (every channel without credentials writes here)
  Status page  {base}/status
Unsigned webhooks are accepted for sources without a secret (KLAXON_INSECURE_DEV=1).
Press Ctrl-C to stop.
""",
        err=True,
    )


def _without_password(url: str) -> str:
    """The URL to show: a REDIS_URL given to `klaxon run` may carry a password (a secret)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
