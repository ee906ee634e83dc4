"""``postwarden import events``, ``postwarden rates`` and ``postwarden campaigns``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from checks.findings import EXIT_CODES
from monitor.cli.options import (
    as_of_option,
    config_option,
    database,
    day_of,
    days_option,
    db_option,
    format_option,
    import_each,
    settings_from,
)

SOURCES = ("auto", "csv", "ses", "sendgrid", "mailjet", "postmark", "mailgun")


@click.command("events")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--source",
    type=click.Choice(SOURCES),
    default="auto",
    show_default=True,
    help="Format of the files; auto tells CSV and each ESP's JSON apart.",
)
@db_option
@config_option
def import_events_command(
    files: tuple[Path, ...], source: str, db: str | None, config: str | None
) -> int:
    """Import delivery events (CSV, JSON, JSON lines; gzip too), each file all or nothing.

    Events already stored (same source and event id) are skipped, so a
    file can be imported again safely.
    """
    from compliance.events.importer import ImportFailed, import_file

    with database(settings_from(config, db)) as sessions:
        import_each(
            sessions,
            files,
            lambda session, path, **more: import_file(
                session, path, source=source, now=datetime.now(UTC), **more
            ),
            ImportFailed,
        )
    return 0


@click.command()
@as_of_option
@days_option
@click.option(
    "--profile", "profile_names", multiple=True, metavar="NAME", help="Only these profiles."
)
@click.option("--min-delivered", type=click.IntRange(min=1), help="Volume needed to judge (100).")
@db_option
@format_option
@config_option
def rates(
    as_of: datetime | None,
    days: int | None,
    profile_names: tuple[str, ...],
    min_delivered: int | None,
    db: str | None,
    output_format: str,
    config: str | None,
) -> int:
    """Bounce and complaint rates against provider and ESP limits; exits like a check."""
    from dataclasses import replace

    from compliance.rates.limit_profiles import load_profiles
    from compliance.rates.report import rates_report
    from monitor.output import render_rates_table

    settings = settings_from(config, db)
    profiles = load_profiles(settings.rates.profiles_dir, settings.rates.esps)
    unknown = [name for name in profile_names if name not in profiles]
    if unknown:
        raise click.BadParameter(
            f"no profile {', '.join(unknown)} (known: {', '.join(profiles)})",
            param_hint="--profile",
        )
    with database(settings) as sessions, sessions() as session:
        report = rates_report(
            session,
            profiles,
            as_of=day_of(as_of),
            days=days or settings.rates.days,
            min_delivered=min_delivered or settings.rates.min_delivered,
        )
    if profile_names:
        chosen = {n: p for n, p in report.profiles.items() if n in profile_names}
        report = replace(report, profiles=chosen)
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render_rates_table(report))
    return EXIT_CODES[report.status]


@click.command()
@as_of_option
@days_option
@click.option("--campaign", help="Only this campaign.")
@db_option
@format_option
@config_option
def campaigns(
    as_of: datetime | None,
    days: int | None,
    campaign: str | None,
    db: str | None,
    output_format: str,
    config: str | None,
) -> int:
    """Engagement per campaign: unique opens and clicks, clicks per link, unsubscribes."""
    from compliance.events.campaigns import campaign_stats
    from monitor.output import percent

    settings = settings_from(config, db)
    with database(settings) as sessions, sessions() as session:
        stats = campaign_stats(
            session, as_of=day_of(as_of), days=days or settings.rates.days, campaign=campaign
        )
    if output_format == "json":
        click.echo(json.dumps(stats, indent=2))
        return 0
    if not stats:
        click.echo("No events in the window.")
    for item in stats:
        click.echo(
            f"{item['campaign']:<30} {item['delivered']:>8} delivered, opens "
            f"{percent(item['unique_open_rate'])} (+{item['machine_opens']} machine), clicks "
            f"{percent(item['unique_click_rate'])}, unsubscribes "
            f"{percent(item['unsubscribe_rate'])}"
        )
        for link in item["links"][:5]:
            click.echo(f"    {link['clicks']:>6} clicks  {link['url']}")
    return 0
