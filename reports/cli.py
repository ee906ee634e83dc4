"""``postwarden report compliance|deliverability``: the reports as PDF, HTML or CSV.

Named in the console script's command table (:data:`web.cli.COMMANDS`); WeasyPrint and the
report builders are imported only when a report is generated.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from monitor.cli.options import config_option, database, db_option, settings_from


@click.group()
def report() -> None:
    """Reports for compliance officers and postmasters."""


def _report_options(command: Any) -> Any:
    """The options both reports take."""
    options = [
        click.option("--from", "period_from", type=click.DateTime(["%Y-%m-%d"]),
                     help="First day (default: the first of --to's month)."),
        click.option("--to", "period_to", type=click.DateTime(["%Y-%m-%d"]),
                     help="Last day (default: today)."),
        click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                     required=True,
                     help="FILE.pdf, FILE.html or FILE.csv (PDF and HTML get a CSV beside)."),
        click.option("--organisation", default=None,
                     help="Name on the cover (default: [reports] organisation)."),
        click.option("--user", "username", help="Who generates it (recorded in the audit trail)."),
        db_option,
        config_option,
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _generate(
    kind: str,
    *,
    period_from: datetime | None,
    period_to: datetime | None,
    as_of: datetime | None,
    output: Path,
    organisation: str | None,
    unmasked: bool,
    username: str | None,
    appendix_rows: int | None,
    db: str | None,
    config: str | None,
) -> int:
    from sqlalchemy import select

    from reports.generate import ReportRequest, generate_report
    from store.users import User

    kind_of_file = output.suffix.lower().lstrip(".")
    if kind_of_file not in ("pdf", "html", "csv"):
        raise click.BadParameter("the file must end in .pdf, .html or .csv", param_hint="-o")
    now = datetime.now(UTC)
    last = (period_to or now).date()
    first = period_from.date() if period_from else last.replace(day=1)
    settings = settings_from(config, db)
    rows = settings.reports.appendix_rows if appendix_rows is None else appendix_rows
    # A request that cannot be rendered raises ReportError: bad input, told by main.
    request = ReportRequest(
        kind=kind,
        period_from=first,
        period_to=last,
        as_of=as_of.date() if as_of else last,
        format=kind_of_file,
        organisation=settings.reports.organisation if organisation is None else organisation,
        masked=not unmasked,
        appendix_rows=rows,
    )
    with database(settings) as sessions, sessions() as session:
        if unmasked:
            user = session.scalar(select(User).where(User.username == (username or "")))
            if user is None or user.role not in ("compliance", "admin") or not user.active:
                raise click.UsageError(
                    "--unmasked needs --user NAME of an active compliance or admin user"
                )
        run = generate_report(
            session, settings, request, output, username or getpass.getuser(), now
        )
        session.commit()
        names = [entry["name"] for entry in run.files]
    for name in names:
        click.echo(f"wrote {output.with_name(name)}")
    return 0


@report.command("compliance")
@_report_options
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Audit date (default --to).")
@click.option("--unmasked", is_flag=True, help="Show addresses in full (needs --user).")
@click.option(
    "--appendix-rows",
    type=click.IntRange(0, 1000),
    default=None,
    help="Offender samples per rule in the PDF (the CSV has them all; default 25).",
)
def compliance_command(
    as_of: datetime | None, unmasked: bool, appendix_rows: int | None, **options: Any
) -> int:
    """The compliance report: verdict, rules, evidence, unsubscribes, retention, rates, method.

    Its CSV lists every offender of every rule (masked unless --unmasked).
    """
    return _generate(
        "compliance", as_of=as_of, unmasked=unmasked, appendix_rows=appendix_rows, **options
    )


@report.command("deliverability")
@_report_options
def deliverability_command(**options: Any) -> int:
    """The deliverability report: per domain and IP, status changes, listings with their
    durations, alerts with time to resolve, and rates per provider with charts.

    Its CSV lists every status change, listing and alert of the period.
    """
    return _generate("deliverability", as_of=None, unmasked=False, appendix_rows=None, **options)
