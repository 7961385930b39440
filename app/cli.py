"""The `klaxon` command. Subcommand groups live beside what they drive (app/ruleset/cli.py for
`klaxon rules ...`) and are attached here, so this file stays a table of contents."""

from __future__ import annotations

import sys

import click

from app.errors import ConfigError, KlaxonError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Klaxon: alert webhooks in, a run incident process out."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Run web + worker + scheduler locally (embedded Redis when REDIS_URL is unset)."""
    from app.localrun import run as run_local

    run_local(host, port)


@main.command()
def release() -> None:
    """Heroku release phase: validate configuration, rules and templates; exit 1 on any error."""
    from app.release import check_release
    from app.settings import Settings
    from workers.render import check_templates

    try:
        for line in check_release():
            click.echo(line)
    except (ConfigError, KlaxonError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    templates_dir = Settings.from_env().templates_dir
    problems = check_templates(templates_dir)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"templates: ok ({templates_dir})")


@main.command()
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--incident", default=None, help="only messages about this incident")
@click.option("--channel", default=None, help="pagerduty, opsgenie, statuspage or x")
def outbox(limit: int, incident: str | None, channel: str | None) -> None:
    """Show what channels without credentials would have sent, newest first."""
    import json

    from app import DEFAULT_REDIS_URL
    from app.clock import SystemClock
    from app.settings import Settings
    from app.store.connection import connect
    from app.store.outbox import Outbox

    settings = Settings.from_env()
    box = Outbox(connect(settings.redis_url or DEFAULT_REDIS_URL), SystemClock())
    for entry in box.entries(limit, incident_id=incident, channel=channel):
        click.echo(
            f"{entry['id']}  {entry['channel']:<10} {entry['action']:<11} "
            f"{entry['incident_id']}  {entry['event']}"
        )
        click.echo(
            "  " + json.dumps(entry["body"], ensure_ascii=False, indent=2).replace("\n", "\n  ")
        )


@main.command()
@click.argument("switch", type=click.Choice(["on", "off", "status"]))
@click.option("--services", default="", help="comma-separated services (default: all)")
@click.option("--until", "until", default=None, help="end time, ISO 8601 (default: until off)")
@click.option("--reason", default="planned maintenance", show_default=True)
@click.option("--by", default=None, help="who (default: $USER)")
def maintenance(switch: str, services: str, until: str | None, reason: str, by: str | None) -> None:
    """Maintenance mode: suppress and record pages for some services, or all."""
    import os
    from datetime import datetime

    from app import DEFAULT_REDIS_URL
    from app.clock import SystemClock
    from app.settings import Settings
    from app.store.connection import connect
    from app.store.maintenance import MaintenanceMode

    settings = Settings.from_env()
    mode = MaintenanceMode(connect(settings.redis_url or DEFAULT_REDIS_URL), SystemClock())
    who = by or os.environ.get("USER", "cli")
    if switch == "on":
        end = datetime.fromisoformat(until.replace("Z", "+00:00")).timestamp() if until else None
        names = tuple(s.strip() for s in services.split(",") if s.strip())
        mode.start(reason, by=who, services=names, until=end)
    elif switch == "off":
        if mode.end(by=who) is None:
            click.echo("maintenance was not on")
    current = mode.current()
    if current is None:
        click.echo("maintenance: off")
    else:
        scope = ", ".join(current.services) or "all services"
        ends = (
            datetime.fromtimestamp(current.until).isoformat()
            if current.until
            else "until switched off"
        )
        click.echo(f"maintenance: on for {scope} ({current.reason}; by {current.by}; {ends})")


@main.command()
@click.option("--requeue", "requeue", default=None, help="requeue this job id")
@click.option("--requeue-all", is_flag=True, help="requeue every failed job")
def failed(requeue: str | None, requeue_all: bool) -> None:
    """List notification jobs that failed after every retry; requeue them."""
    from rq.registry import FailedJobRegistry

    from app import DEFAULT_REDIS_URL
    from app.settings import Settings
    from app.store.connection import connect
    from workers.queues import queues

    connection = connect(Settings.from_env().redis_url or DEFAULT_REDIS_URL)
    for queue in queues(connection):
        registry = FailedJobRegistry(queue=queue)
        for job_id in registry.get_job_ids():
            if requeue_all or requeue == job_id:
                registry.requeue(job_id)
                click.echo(f"requeued {job_id}")
                continue
            job = queue.fetch_job(job_id)
            error = (
                (job.latest_result().exc_string or "").strip().splitlines()[-1:]
                if job and job.latest_result()
                else [""]
            )
            click.echo(f"{job_id}  {queue.name}  {error[0][:160]}")
            click.echo(f"  requeue: klaxon failed --requeue {job_id}")


@main.command()
@click.option("--url", default=None, help="the Klaxon to drill (default KLAXON_PUBLIC_URL)")
@click.option("--timeout", default=60.0, show_default=True, type=float, help="seconds")
@click.option("--last", "show_last", is_flag=True, help="show the last drill's result")
def drill(url: str | None, timeout: float, show_last: bool) -> None:
    """Fire drill: a synthetic alert through receiver, store, worker and outbox, then resolved;
    each stage's latency, exit 1 naming the stage that got stuck. Pages nobody."""
    from app import DEFAULT_REDIS_URL
    from app.drill import last, run_drill
    from app.settings import Settings
    from app.store.connection import connect

    settings = Settings.from_env()
    connection = connect(settings.redis_url or DEFAULT_REDIS_URL)
    result = last(connection) if show_last else None
    if show_last and result is None:
        click.echo("no drill recorded (they are kept 30 days)")
        sys.exit(1)
    if result is None:
        result = run_drill(settings, connection, url or settings.public_url, timeout)
    for line in result.lines():
        click.echo(line)
    if not result.ok:
        sys.exit(1)


def _attach_optional_groups() -> None:
    try:
        from app.ruleset.cli import rules
    except ImportError:  # the rules engine is not part of this build yet
        return
    main.add_command(rules)


_attach_optional_groups()

if __name__ == "__main__":
    main()
