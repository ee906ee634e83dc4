"""The ``postwarden`` console script: one table of commands, each imported when it runs.

:data:`COMMANDS` maps every command name to ``"module:attribute"`` of a click command;
:data:`IMPORTERS` does the same for ``postwarden import NAME``. A module is imported only
when its command runs, or when ``--help`` lists it for its one-line summary, so
``postwarden --version`` pays for click and nothing else.

To add a command:

1. write it in a module of its own in the layer it belongs to (``monitor/cli/`` for
   monitor's, ``reports/cli.py``, ``web/…`` for what needs the web app), importing only
   click, :mod:`monitor.cli.options` and other light modules at the top and anything
   heavy (SQLAlchemy, checkdmarc, WeasyPrint, Flask, the reports) inside the function;
2. add ONE line below, e.g. ``"spam-traps": "monitor.cli.traps:traps",`` in :data:`COMMANDS`
   or ``"traps": "monitor.cli.traps:import_traps",`` in :data:`IMPORTERS`;
3. run ``make docs``: ``docs/cli.md`` is generated from this table.

:func:`main` maps the failures a command may end with to the exit code 3 and a one-line
reason (see :mod:`monitor.cli.errors`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click

from monitor.cli.errors import EXIT_BAD_INPUT, describe_failure


@dataclass(frozen=True)
class Subcommands:
    """A command group whose subcommands live in different modules (``import``)."""

    help: str
    table: Mapping[str, str]


# `postwarden import NAME`: one line per kind of data.
IMPORTERS: dict[str, str] = {
    "contacts": "monitor.cli.contacts:import_contacts_command",
    "events": "monitor.cli.events:import_events_command",
    "arf": "monitor.cli.arf:import_arf_command",
    "dmarc": "monitor.cli.dmarc:import_dmarc_command",
    "conversions": "monitor.cli.roi:import_conversions",
    "costs": "monitor.cli.roi:import_costs",
}

# `postwarden NAME`: one line per command (a group's subcommands come with it).
COMMANDS: dict[str, str | Subcommands] = {
    "alerts": "monitor.cli.alerts:alerts",
    "audit": "monitor.cli.contacts:audit",
    "audit-message": "monitor.cli.messages:audit_message_command",
    "campaigns": "monitor.cli.events:campaigns",
    "check": "monitor.cli.check:check",
    "contacts": "monitor.cli.contacts:contacts",
    "demo": "web.demo.cli:demo",
    "dmarc": "monitor.cli.dmarc:dmarc_command",
    "domains": "monitor.cli.targets:domains",
    "findings": "monitor.cli.findings:list_findings",
    "gmail": "monitor.cli.gmail:gmail",
    "import": Subcommands("Load data exported from an ESP or list manager.", IMPORTERS),
    "inbox": "monitor.cli.inbox:inbox",
    "init": "monitor.cli.init:init_command",
    "ips": "monitor.cli.targets:ips",
    "listings": "monitor.cli.listings:listings",
    "rates": "monitor.cli.events:rates",
    "report": "reports.cli:report",
    "roi": "monitor.cli.roi:roi",
    "serve": "web.serve_cli:serve",
    "snds": "monitor.cli.snds:snds",
    "users": "monitor.cli.users:users",
    "worker": "web.serve_cli:worker",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is asked for.

    As in click's documentation, "Lazily Loading Subcommands". Commands added with
    ``add_command`` work as in any group.
    """

    def __init__(self, *args: Any, table: Mapping[str, str | Subcommands], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.table = table

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.table})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.table:
            return super().get_command(ctx, cmd_name)
        entry = self.table[cmd_name]
        if isinstance(entry, Subcommands):
            command: click.Command = LazyGroup(cmd_name, help=entry.help, table=entry.table)
        else:
            command = load_command(entry)
        # Kept, so that --help and the docs import each module once.
        self.commands[cmd_name] = command
        return command


def load_command(path: str) -> click.Command:
    """The click command at ``"module:attribute"``."""
    module_name, _, attribute = path.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{path} is not a click command")
    return command


@click.group(
    cls=LazyGroup, table=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="postwarden")
def cli() -> None:
    """Postwarden: deliverability monitoring and compliance auditing."""


def run(argv: Sequence[str] | None = None, *, started: float | None = None) -> int:
    """Run the command line on ``argv``; return its exit code, failures said in one line.

    ``started`` (a ``time.monotonic()`` value) is when this run began, if before now:
    the console script passes its process's start, which one-shot checks count
    against their time budget.
    """
    try:
        code = cli.main(
            args=argv, prog_name="postwarden", standalone_mode=False, obj={"started": started}
        )
    except click.exceptions.Abort:
        click.echo("postwarden: aborted", err=True)
        return EXIT_BAD_INPUT
    except Exception as error:
        reason = describe_failure(error)
        if reason is None:
            raise
        click.echo(f"postwarden: {reason}", err=True)
        return EXIT_BAD_INPUT
    return code if isinstance(code, int) else 0


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: exit with the command's code."""
    from monitor.cli.options import process_started

    sys.exit(run(argv, started=process_started()))
