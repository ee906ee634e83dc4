"""``postwarden import conversions|costs`` and ``postwarden roi``: what the mail earns."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from compliance.roi.attribution import MODELS
from monitor.cli.options import config_option, database, db_option, format_option, settings_from


def _import_files(
    jobs: list[tuple[str, Path]], db: str | None, config: str | None, output_format: str
) -> int:
    """Import each (kind, file) in its own transaction; the first bad one ends the command."""
    from compliance.roi.importer import IMPORTERS, ImportFailed

    results: list[dict[str, Any]] = []
    failed = None
    with database(settings_from(config, db)) as sessions:
        for kind, path in jobs:
            importer = IMPORTERS[kind]
            if not path.is_file():
                failed = f"{path}: no such file"
            else:
                with sessions() as session:
                    try:
                        report = importer(session, path, now=datetime.now(UTC))
                    except ImportFailed as error:
                        session.rollback()
                        failed = str(error)
                    else:
                        session.commit()
                        results.append(report.as_json())
                        if output_format != "json":
                            click.echo(str(report))
            if failed:
                results.append({"file": path.name, "status": "error", kind: 0, "error": failed})
                break
    if output_format == "json":
        click.echo(json.dumps(results, indent=2))
    if failed:
        raise click.ClickException(failed)
    return 0


_files = click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)


@click.command("conversions")
@_files
@click.option(
    "--touchpoints",
    "touchpoint_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV of touches on other channels (email,time,channel,campaign); repeatable.",
)
@db_option
@format_option
@config_option
def import_conversions(
    files: tuple[Path, ...],
    touchpoint_files: tuple[Path, ...],
    db: str | None,
    output_format: str,
    config: str | None,
) -> int:
    """Import conversions (CSV: conversion_id,email,time,value,currency,type), each file all
    or nothing; a conversion_id already stored is skipped."""
    jobs = [("conversions", path) for path in files]
    jobs += [("touchpoints", path) for path in touchpoint_files]
    return _import_files(jobs, db, config, output_format)


@click.command("costs")
@_files
@db_option
@format_option
@config_option
def import_costs(
    files: tuple[Path, ...], db: str | None, output_format: str, config: str | None
) -> int:
    """Import costs (CSV: campaign,cost,currency and optional month YYYY-MM and item); a row
    with a month and no campaign is spread over that month's campaigns by sends."""
    return _import_files([("costs", path) for path in files], db, config, output_format)


def _date(value: datetime | None) -> date | None:
    return value.date() if value else None


@click.command("roi")
@click.option("--model", type=click.Choice(MODELS), help="Attribution model (last_touch).")
@click.option("--compare", is_flag=True, help="Every model side by side.")
@click.option(
    "--from",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day of conversions (default: 29 days before --to).",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of conversions (default: today, UTC).",
)
@click.option("--campaign", help="Only this campaign.")
@db_option
@format_option
@config_option
def roi(
    model: str | None,
    compare: bool,
    start: datetime | None,
    end: datetime | None,
    campaign: str | None,
    db: str | None,
    output_format: str,
    config: str | None,
) -> int:
    """Per campaign: sends, clicks, conversions and revenue attributed, cost, ROI."""
    from monitor.roi import DEFAULT_MODEL, configured_roi, window
    from monitor.roi_output import compare_json, model_json, render_compare, render_model

    if model and compare:
        raise click.UsageError("--model and --compare exclude each other")
    first, last = window(_date(end) or datetime.now(UTC).date(), _date(start))
    if first > last:
        raise click.BadParameter(f"{first} is after --to {last}", param_hint="--from")
    settings = settings_from(config, db)
    models = MODELS if compare else (model or DEFAULT_MODEL,)
    with database(settings) as sessions, sessions() as session:
        report = configured_roi(session, settings, first, last, models, campaign)
    if compare:
        click.echo(
            json.dumps(compare_json(report), indent=2)
            if output_format == "json"
            else render_compare(report)
        )
    else:
        click.echo(
            json.dumps(model_json(report, models[0]), indent=2)
            if output_format == "json"
            else render_model(report, models[0])
        )
    return 0
