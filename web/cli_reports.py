"""``postwarden report compliance``: the compliance officer's report as PDF, HTML or CSV.

Registered on the console script by ``web.cli`` (reports sit above monitor).
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import click

from monitor.cli import cli
from monitor.cli_options import config_option, database, db_option, settings_from


@cli.group()
def report() -> None:
    """Reports for compliance officers and postmasters."""


@report.command("compliance")
@click.option("--from", "period_from", type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--to", "period_to", type=click.DateTime(["%Y-%m-%d"]), help="Last day (today).")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Audit date (default --to).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="FILE.pdf, FILE.html or FILE.csv (a PDF or HTML gets its CSV beside it).",
)
@click.option("--organisation", default="", help="Name on the cover.")
@click.option("--unmasked", is_flag=True, help="Show addresses in full (needs --user).")
@click.option("--user", "username", help="Who generates it (a compliance or admin user).")
@click.option(
    "--appendix-rows",
    type=click.IntRange(0, 1000),
    default=25,
    show_default=True,
    help="Offender samples per rule in the PDF (the CSV has them all).",
)
@db_option
@config_option
def compliance_command(
    period_from: datetime | None,
    period_to: datetime | None,
    as_of: datetime | None,
    output: Path,
    organisation: str,
    unmasked: bool,
    username: str | None,
    appendix_rows: int,
    db: str | None,
    config: str | None,
) -> int:
    """The compliance report: verdict, rules, evidence, unsubscribes, retention, rates, method."""
    from sqlalchemy import select

    from compliance.limit_profiles import load_profiles
    from reports.compliance_report import compliance_report, write_offenders_csv
    from reports.render import render_html, render_pdf
    from reports.trail import record_report
    from store.users import User

    kind = output.suffix.lower()
    if kind not in (".pdf", ".html", ".csv"):
        raise click.BadParameter("the file must end in .pdf, .html or .csv", param_hint="-o")
    now = datetime.now(UTC)
    last = (period_to or now).date()
    first = period_from.date() if period_from else last.replace(day=1)
    if first > last:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    audit_day = as_of.date() if as_of else last
    settings = settings_from(config, db)
    thresholds = settings.audit
    with database(settings) as sessions, sessions() as session:
        generated_by = username or getpass.getuser()
        if unmasked:
            user = session.scalar(select(User).where(User.username == (username or "")))
            if user is None or user.role not in ("compliance", "admin") or not user.active:
                raise click.UsageError(
                    "--unmasked needs --user NAME of an active compliance or admin user"
                )
        written = []
        if kind == ".csv":
            write_offenders_csv(session, audit_day, thresholds, output, masked=not unmasked)
            written.append(output)
        else:
            csv_path = output.with_name(f"{output.stem}-offenders.csv")
            csv_file = write_offenders_csv(
                session, audit_day, thresholds, csv_path, masked=not unmasked
            )
            data = compliance_report(
                session, period_from=first, period_to=last, as_of=audit_day,
                organisation=organisation, generated_by=generated_by,
                profiles=load_profiles(settings.rates.profiles_dir), thresholds=thresholds,
                masked=not unmasked, appendix_rows=appendix_rows,
            )  # fmt: skip
            data["csv_file"] = csv_file
            html = render_html("compliance.html", data)
            output.write_bytes(render_pdf(html) if kind == ".pdf" else html.encode("utf-8"))
            written += [output, csv_path]
        record_report(
            session, "compliance",
            {"from": first.isoformat(), "to": last.isoformat(), "as_of": audit_day.isoformat(),
             "masked": not unmasked, "format": kind.lstrip(".")},
            generated_by, written, now,
        )  # fmt: skip
        session.commit()
    for path in written:
        click.echo(f"wrote {path}")
    return 0
