"""`klaxon change record` and `klaxon change list`: a change from a CI step, a feature-flag
flip or a config change, recorded straight into the running Klaxon's Redis (REDIS_URL, else
the local `klaxon run`) through the same steps as the webhooks and POST /api/changes
(app/change_intake.py). Attached to `klaxon` in app/cli.py."""

from __future__ import annotations

import json
import os
import time

import click
import redis

from app.instance_cli import connect_to_instance, unreachable


@click.group()
def change() -> None:
    """Changes (releases, deploys, flags) Klaxon holds against incidents."""


@change.command()
@click.option("--service", required=True, help="the service changed (catalog name or alias)")
@click.option("--version", "version", required=True, help="what was shipped: v52, a tag, a sha")
@click.option("--description", default="", help="what changed, in one line")
@click.option("--who", default=None, help="who made the change (default: $USER)")
@click.option("--when", "when", default=None, type=float, help="epoch seconds (default: now)")
@click.option("--link", default="", help="http(s) link to the change")
@click.option("--rollback", default="", help="the command that undoes it")
@click.option("--app", "app_name", default="", help="the deployed app (default: the service)")
@click.option(
    "--kind",
    default="release",
    show_default=True,
    type=click.Choice(["release", "deploy", "config", "flag", "rollback", "other"]),
)
@click.option("--id", "identity", default="", help="a name for the change: repeats are ignored")
def record(
    service: str,
    version: str,
    description: str,
    who: str | None,
    when: float | None,
    link: str,
    rollback: str,
    app_name: str,
    kind: str,
    identity: str,
) -> None:
    """Record one change; it shows up on the incidents it may have caused."""
    from app.change_intake import record_change
    from app.changes.model import Change, clean
    from app.clock import SystemClock
    from app.notifications import enqueue_notification
    from app.ruleset import load_ruleset
    from app.settings import Settings
    from app.store.changes import ChangeStore
    from app.store.incidents import IncidentStore

    if link and not link.startswith(("https://", "http://")):
        raise click.BadParameter("must be an http(s) URL", param_hint="'--link'")
    settings = Settings.from_env()
    connection = connect_to_instance()
    clock = SystemClock()
    now = clock.now()
    at = now if when is None else when
    item = Change(
        source="api",
        identity=identity or f"{service}|{version}|{at!r}",
        app=clean(app_name or service, 200),
        version=clean(version, 200),
        when=at,
        description=clean(description),
        who=clean(who or os.environ.get("USER", "cli"), 200),
        link=link[:500],
        rollback=clean(rollback),
        service=clean(service, 200),
        kind=kind,
    )
    try:
        answer = record_change(
            item,
            load_ruleset(settings.rules_dir),
            ChangeStore(connection, clock, settings.changes_days, settings.delivery_ttl_seconds),
            IncidentStore(connection, clock, settings.delivery_ttl_seconds, settings.storage),
            lambda *args: enqueue_notification(connection, *args),
            now,
        )
    except (redis.RedisError, OSError) as error:
        raise unreachable(error) from None
    click.echo(json.dumps(answer))


@change.command("list")
@click.option("--service", default="", help="only this service")
@click.option("--hours", default=24.0, show_default=True, type=float, help="how far back")
def list_changes(service: str, hours: float) -> None:
    """Recorded changes, newest first."""
    from app.clock import SystemClock
    from app.settings import Settings
    from app.store.changes import ChangeStore

    settings = Settings.from_env()
    store = ChangeStore(
        connect_to_instance(), SystemClock(), settings.changes_days, settings.delivery_ttl_seconds
    )
    try:
        found = store.changes(service, since=time.time() - hours * 3600)
    except (redis.RedisError, OSError) as error:
        raise unreachable(error) from None
    for item in found:
        stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(item.when))
        undo = f"  rollback: {item.rollback}" if item.rollback else ""
        click.echo(f"{stamp}Z  {item.service} {item.version}  {item.who}  {item.description}{undo}")
