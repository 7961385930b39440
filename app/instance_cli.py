"""`klaxon outbox`, `klaxon failed`, `klaxon maintenance`: commands that read or change a
running Klaxon through its Redis (REDIS_URL, else the local `klaxon run`: app/local_instance.py).
Attached to `klaxon` in app/cli.py."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import redis

from app.clock import SystemClock


def connect_to_instance() -> redis.Redis:
    """A client for REDIS_URL or the running `klaxon run`; a one-line error when neither."""
    from app.local_instance import NoInstance, find_running
    from app.settings import Settings
    from app.store.connection import connect

    url = Settings.from_env().redis_url
    if url:
        return connect(url)
    try:
        instance = find_running(Path.cwd())
    except NoInstance as error:
        raise click.ClickException(str(error)) from None
    if not instance.redis_url:
        raise click.ClickException(
            f"the running `klaxon run` (pid {instance.pid}) was given a REDIS_URL with a "
            "password, which is not written to disk: set the same REDIS_URL here"
        )
    click.echo(
        f"using the Redis of `klaxon run` (pid {instance.pid}, {instance.web_url}): "
        f"{instance.redis_url}",
        err=True,
    )
    return connect(instance.redis_url)


def unreachable(error: redis.RedisError | OSError) -> click.ClickException:
    # Never the URL: REDIS_URL carries the password.
    return click.ClickException(f"cannot reach Redis: {type(error).__name__}: {error}"[:300])


@click.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--incident", default=None, help="only messages about this incident")
@click.option("--channel", default=None, help="pagerduty, opsgenie, statuspage or x")
def outbox(limit: int, incident: str | None, channel: str | None) -> None:
    """Show what channels without credentials would have sent, newest first."""
    from app.store.outbox import Outbox

    box = Outbox(connect_to_instance(), SystemClock())
    try:
        entries = box.entries(limit, incident_id=incident, channel=channel)
    except (redis.RedisError, OSError) as error:
        raise unreachable(error) from None
    if not entries:
        only = ", ".join(f for f in (incident and f"incident {incident}", channel) if f)
        click.echo(f"outbox is empty{f' for {only}' if only else ''}")
    for entry in entries:
        click.echo(
            f"{entry['id']}  {entry['channel']:<10} {entry['action']:<11} "
            f"{entry['incident_id']}  {entry['event']}"
        )
        click.echo(
            "  " + json.dumps(entry["body"], ensure_ascii=False, indent=2).replace("\n", "\n  ")
        )


def _until(context: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from app.until import parse_until

    if value is None:
        return None
    try:
        return parse_until(value, datetime.now(UTC)).timestamp()
    except ValueError as error:
        raise click.BadParameter(str(error), context, param) from None


@click.command()
@click.argument("switch", type=click.Choice(["on", "off", "status"]))
@click.option("--services", default="", help="comma-separated services (default: all)")
@click.option(
    "--until",
    "until",
    default=None,
    callback=_until,
    help="end: a duration (2h, 30m, 1d, 90s) or ISO 8601 with a zone (default: until off)",
)
@click.option("--reason", default="planned maintenance", show_default=True)
@click.option("--by", default=None, help="who (default: $USER)")
def maintenance(
    switch: str, services: str, until: float | None, reason: str, by: str | None
) -> None:
    """Maintenance mode: suppress and record pages for some services, or all."""
    from app.store.maintenance import MaintenanceMode

    if until is not None and switch != "on":
        raise click.BadParameter("only goes with `on`", param_hint="'--until'")
    from app.settings import Settings

    mode = MaintenanceMode(connect_to_instance(), SystemClock(), Settings.from_env().storage)
    who = by or os.environ.get("USER", "cli")
    try:
        if switch == "on":
            names = tuple(s.strip() for s in services.split(",") if s.strip())
            mode.start(reason, by=who, services=names, until=until)
        elif switch == "off" and mode.end(by=who) is None:
            click.echo("maintenance was not on")
        current = mode.current()
    except (redis.RedisError, OSError) as error:
        raise unreachable(error) from None
    if current is None:
        click.echo("maintenance: off")
        return
    scope = ", ".join(current.services) or "all services"
    ends = (
        "until " + datetime.fromtimestamp(current.until).astimezone().isoformat(timespec="minutes")
        if current.until
        else "until switched off"
    )
    click.echo(f"maintenance: on for {scope} ({current.reason}; by {current.by}; {ends})")


@click.command()
@click.option("--requeue", "requeue", default=None, help="requeue this job id")
@click.option("--requeue-all", is_flag=True, help="requeue every failed job")
def failed(requeue: str | None, requeue_all: bool) -> None:
    """List notification jobs that failed after every retry; requeue them."""
    try:
        found = _list_or_requeue_failed(connect_to_instance(), requeue, requeue_all)
    except (redis.RedisError, OSError) as error:
        raise unreachable(error) from None
    if requeue and requeue not in found:
        raise click.ClickException(f"no failed job {requeue[:80]!r} (klaxon failed lists them)")
    if not found:
        click.echo("no failed jobs")


def _list_or_requeue_failed(
    connection: redis.Redis, requeue: str | None, requeue_all: bool
) -> list[str]:
    from rq import Queue
    from rq.registry import FailedJobRegistry
    from rq.serializers import JSONSerializer

    from app.queue_names import QUEUE_NAMES

    found = []
    for name in QUEUE_NAMES:
        queue = Queue(name, connection=connection, serializer=JSONSerializer)
        registry = FailedJobRegistry(queue=queue)
        for job_id in registry.get_job_ids():
            found.append(job_id)
            if requeue_all or requeue == job_id:
                registry.requeue(job_id)
                click.echo(f"requeued {job_id}")
                continue
            job = queue.fetch_job(job_id)
            result = job.latest_result() if job else None
            error = (result.exc_string or "").strip().splitlines()[-1:] if result else [""]
            click.echo(f"{job_id}  {queue.name}  {(error or [''])[0][:160]}")
            click.echo(f"  requeue: klaxon failed --requeue {job_id}")
    return found


@click.command()
@click.option("--url", default=None, help="the Klaxon to drill (default KLAXON_PUBLIC_URL)")
@click.option("--timeout", default=60.0, show_default=True, type=float, help="seconds")
@click.option("--last", "show_last", is_flag=True, help="show the last drill's result")
def drill(url: str | None, timeout: float, show_last: bool) -> None:
    """Fire drill: a synthetic alert through receiver, store, worker and outbox, then resolved;
    each stage's latency, exit 1 naming the stage that got stuck. Pages nobody."""
    from app.drill import last, run_drill
    from app.local_instance import NoInstance, find_running
    from app.settings import Settings

    settings = Settings.from_env()
    connection = connect_to_instance()
    result = last(connection) if show_last else None
    if show_last and result is None:
        click.echo("no drill recorded (they are kept 30 days)")
        sys.exit(1)
    if result is None:
        if not url and not os.environ.get("KLAXON_PUBLIC_URL") and not settings.redis_url:
            try:  # the local `klaxon run` whose Redis this is
                url = find_running(Path.cwd()).web_url
            except NoInstance:
                pass
        result = run_drill(settings, connection, url or settings.public_url, timeout)
    for line in result.lines():
        click.echo(line)
    if not result.ok:
        sys.exit(1)
