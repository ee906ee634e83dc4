"""``postwarden listings``: blocklist listings recorded by saved runs."""

from __future__ import annotations

import click

from monitor.cli.options import config_option, database, format_option, settings_from


@click.command()
@click.argument("target", required=False)
@click.option("--open", "open_only", is_flag=True, help="Only listings that have not ended.")
@click.option("--db", metavar="URL", help="Database URL.")
@format_option
@config_option
def listings(
    target: str | None, open_only: bool, db: str | None, output_format: str, config: str | None
) -> int:
    """Blocklist listings recorded by saved runs: when each began, ended and how long it lasted."""
    from datetime import UTC, datetime

    from checks.targets import parse_target
    from monitor.blocklist_history import listing_history
    from monitor.output import render_listings_json, render_listings_table

    name = parse_target(target).name if target else None
    with database(settings_from(config, db)) as sessions, sessions() as session:
        episodes = listing_history(session, name, open_only=open_only)
    now = datetime.now(UTC)
    if output_format == "json":
        click.echo(render_listings_json(episodes, now))
    else:
        click.echo(render_listings_table(episodes, now))
    return 0
