"""``postwarden audit-message``: unsubscribe, one-click and DKIM audit of sent messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from checks.findings import EXIT_CODES, worst
from monitor.cli.options import (
    config_option,
    database,
    db_option,
    dns_options,
    format_option,
    settings_from,
)


@click.command("audit-message")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@dns_options
@click.option("--probe", is_flag=True, help="POST to each one-click URI as a mailbox provider.")
@click.option("--allow-private", is_flag=True, help="Let --probe reach private/loopback hosts.")
@click.option(
    "--probe-ca", type=click.Path(dir_okay=False, path_type=Path), help="CA file for --probe."
)
@click.option("--max-bytes", type=click.IntRange(min=1), help="Largest message read (25 MiB).")
@click.option("--save", is_flag=True, help="Keep the results in the database.")
@db_option
@format_option
@config_option
def audit_message_command(
    paths: tuple[Path, ...],
    nameservers: tuple[str, ...],
    timeout: float | None,
    retries: int | None,
    probe: bool,
    allow_private: bool,
    probe_ca: Path | None,
    max_bytes: int | None,
    save: bool,
    db: str | None,
    output_format: str,
    config: str | None,
) -> int:
    """Audit sent messages (.eml, .mbox, directories): List-Unsubscribe, one-click, DKIM, body link.

    Exits like a check: by the worst status of all messages.
    """
    from monitor.message_audits import audit_files, save_audits
    from monitor.output import render_messages_table

    settings = settings_from(config, db, nameservers, timeout, None, retries)
    if max_bytes:
        from dataclasses import replace

        settings = replace(settings, messages=replace(settings.messages, max_bytes=max_bytes))
    options = None
    if probe:
        options = {
            "timeout": settings.messages.probe_timeout,
            "allow_private": allow_private,
            "ca_file": probe_ca,
        }
    results = audit_files(settings, list(paths), options)
    if save:
        with database(settings) as sessions, sessions() as session:
            save_audits(session, results, datetime.now(UTC))
            session.commit()
    if output_format == "json":
        click.echo(json.dumps([result.to_json() for result in results], indent=2))
    else:
        click.echo(render_messages_table(results))
    return EXIT_CODES[worst(r.status for r in results)]
