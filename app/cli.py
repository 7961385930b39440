"""The `klaxon` command. Subcommand groups live in their own modules (app/rules_cli.py for
`klaxon rules ...`, app/instance_cli.py for the commands that act on a running Klaxon) and are
attached here, so this file stays a table of contents."""

from __future__ import annotations

import sys

import click


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
    """Heroku release phase: check configuration, rules and templates, and on a dyno that the
    deployment can serve (public https URL, API token, a source secret, Redis); exit 1 listing
    every problem."""
    from app.release import check_release

    check = check_release()
    for line in check.passed:
        click.echo(line)
    for warning in check.warnings:
        click.echo(f"warning: {warning}", err=True)
    if check.problems:
        click.echo(check.report(), err=True)
        sys.exit(1)


def _attach_commands() -> None:
    from app.change_cli import change
    from app.instance_cli import drill, failed, maintenance, outbox

    for command in (outbox, maintenance, failed, drill, change):
        main.add_command(command)
    from app.rules_cli import rules

    main.add_command(rules)


_attach_commands()

if __name__ == "__main__":
    main()
