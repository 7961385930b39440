"""The `klaxon` command. Subcommand groups live beside what they drive (app/ruleset/cli.py for
`klaxon rules ...`) and are attached here, so this file stays a table of contents."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Klaxon: alert webhooks in, a run incident process out."""


def _attach_optional_groups() -> None:
    try:
        from app.ruleset.cli import rules
    except ImportError:  # the rules engine is not part of this build yet
        return
    main.add_command(rules)


_attach_optional_groups()

if __name__ == "__main__":
    main()
