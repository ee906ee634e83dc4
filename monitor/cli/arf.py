"""``postwarden import arf``: complaint feedback-loop reports (RFC 5965) as complaint events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from monitor.cli.options import config_option, database, db_option, format_option, settings_from

EXIT_ANY_FAILED = 3


@click.command("arf")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
@format_option
@config_option
def import_arf_command(
    paths: tuple[Path, ...], db: str | None, output_format: str, config: str | None
) -> int:
    """Import ARF complaint reports (.eml, .mbox, directories of them), each file all or nothing.

    Yahoo's CFL and Microsoft's JMRP reports with redacted recipients count
    for their campaign and provider. A complaint already stored (same
    original Message-ID and recipient) is skipped. Exits 3 when any file
    failed; the others are still imported.
    """
    from compliance.events.arf_import import ArfImportFailed, arf_files, import_arf_file

    settings = settings_from(config, db)
    results: list[dict[str, Any]] = []
    failed = False
    with database(settings) as sessions:
        for path in arf_files(paths):
            with sessions() as session:
                try:
                    report = import_arf_file(
                        session, path, now=datetime.now(UTC), max_bytes=settings.messages.max_bytes
                    )
                except ArfImportFailed as error:
                    session.rollback()
                    failed = True
                    click.echo(f"postwarden: error: {error}", err=True)
                    results.append(_failure(path, str(error)))
                    continue
                session.commit()
            results.append(report.as_json())
            if output_format == "table":
                click.echo(str(report))
    if output_format == "json":
        click.echo(json.dumps(results, indent=2))
    return EXIT_ANY_FAILED if failed else 0


def _failure(path: Path, message: str) -> dict[str, Any]:
    return {
        "file": str(path), "status": "error", "reports": 0, "complaints": 0, "inserted": 0,
        "duplicates": 0, "redacted": 0, "skipped": 0, "other_types": 0, "error": message,
    }  # fmt: skip
