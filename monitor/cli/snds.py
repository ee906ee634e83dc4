"""``postwarden snds fetch``: Microsoft SNDS data for the sender's IPs now."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from monitor.cli.options import config_option, database, db_option, format_option, settings_from


@click.group("snds")
def snds() -> None:
    """Microsoft SNDS: filter result, complaint rate, trap hits and blocks per sending IP."""


@snds.command("fetch")
@click.option(
    "--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Day (default: yesterday)."
)
@db_option
@format_option
@config_option
def fetch(day: datetime | None, db: str | None, output_format: str, config: str | None) -> int:
    """Fetch one day's SNDS data and IP status now (the schedule does it daily).

    Exits 3 when SNDS could not be read, 2 when an IP is RED, hit traps or is
    blocked, 1 when one is YELLOW, 0 otherwise.
    """
    from sqlalchemy import select

    from monitor.receivers_view import snds_day_json
    from monitor.snds import fetch_snds
    from store.receivers import SndsBlock, SndsDay

    settings = settings_from(config, db)
    with database(settings) as sessions, sessions() as session:
        now = datetime.now(UTC)
        outcome = fetch_snds(session, now, settings, day.date() if day else None)
        session.commit()
        wanted = (day.date() if day else None) or session.scalar(
            select(SndsDay.day).order_by(SndsDay.day.desc()).limit(1)
        )
        rows = list(session.scalars(select(SndsDay).where(SndsDay.day == wanted)))
        blocked = [b.first_ip for b in session.scalars(select(SndsBlock).where(SndsBlock.blocked))]
    ips = {row.ip: snds_day_json(row) for row in rows}
    if output_format == "json":
        click.echo(json.dumps({"outcome": outcome, "ips": ips, "blocked": blocked}, indent=2))
    else:
        click.echo(outcome)
        for ip, item in sorted(ips.items()):
            complaints = item["complaint_text"] or "—"
            click.echo(
                f"  {ip}: {item['filter_result']}, complaints {complaints}, "
                f"{item['trap_hits']} trap hits, HELO {item['sample_helo'] or '—'}"
            )
        for ip in blocked:
            click.echo(f"  {ip}: BLOCKED")
    if outcome.startswith(("error", "skipped")):
        return 3
    if blocked or any(i["filter_result"] == "RED" or i["trap_hits"] for i in ips.values()):
        return 2
    return 1 if any(i["filter_result"] == "YELLOW" for i in ips.values()) else 0
