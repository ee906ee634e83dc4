"""``postwarden import dmarc`` and ``postwarden dmarc``: the receivers' view of a domain."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from click.decorators import FC

from monitor.cli.options import (
    config_option,
    database,
    db_option,
    dns_options,
    format_option,
    settings_from,
)

EXIT_BAD_INPUT = 3
COMMIT_EVERY = 200
COMMIT_EVERY_RECORDS = 10_000


@click.command("dmarc")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
@format_option
@config_option
def import_dmarc_command(
    paths: tuple[Path, ...], db: str | None, output_format: str, config: str | None
) -> int:
    """Import DMARC aggregate and SMTP TLS reports (xml, json, gz, zip, eml, mbox; directories).

    Each file is imported all or nothing; a report already stored (same
    organisation and report id, under any file name) adds nothing. Exits 3
    when any file failed; the others are still imported.
    """
    from compliance.dmarc_reports.importer import (
        INPUT_ERRORS,
        FileOutcome,
        SelectorTally,
        forget_reports,
        import_report_file,
        report_files,
    )
    from compliance.dmarc_reports.payloads import Limits

    settings = settings_from(config, db)
    limits = Limits(max_inflated_bytes=settings.dmarc.max_inflated_bytes)
    outcomes: list[FileOutcome] = []
    pending: list[FileOutcome] = []
    # The DKIM selectors of a batch's files, stored once when it commits.
    tally = SelectorTally()
    with database(settings) as sessions, sessions() as session:

        def commit() -> None:
            tally.store(session)
            session.commit()
            if output_format == "table":
                for done in pending:
                    click.echo(str(done))
            outcomes.extend(pending)
            pending.clear()

        for path in report_files(paths):
            stored: list[int] = []
            try:
                if not path.is_file():
                    raise FileNotFoundError(f"{path}: no such file or directory")
                outcome = import_report_file(
                    session,
                    path,
                    now=datetime.now(UTC),
                    limits=limits,
                    stored=stored,
                    tally=tally,
                )
            except INPUT_ERRORS as error:
                # Undone within the batch's transaction: the files before it stay.
                forget_reports(session, stored)
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                reason = reason.removeprefix(f"{path}: ")
                outcome = FileOutcome(file=str(path), status="error", error=reason)
                click.echo(f"postwarden: {path}: {reason}", err=True)
            pending.append(outcome)
            # Files are committed in batches (a commit per small report cost more
            # than importing it); a large one is committed at once.
            if len(pending) >= COMMIT_EVERY or outcome.records >= COMMIT_EVERY_RECORDS:
                commit()
        commit()
        if any(o.status != "error" and o.reports for o in outcomes):
            from monitor.dmarc_alerts import alert_on_reports

            alert_on_reports(session, datetime.now(UTC), settings)
            session.commit()
    if output_format == "json":
        click.echo(json.dumps([o.to_json() for o in outcomes], indent=2))
    return EXIT_BAD_INPUT if any(o.status == "error" for o in outcomes) else 0


def _day_option(name: str, help_text: str) -> Callable[[FC], FC]:
    return click.option(name, type=click.DateTime(formats=["%Y-%m-%d"]), help=help_text)


@click.command("dmarc")
@click.option("--domain", metavar="DOMAIN", help="Only this policy domain.")
@_day_option("--from", "First day of the window, YYYY-MM-DD (default: 30 days before --to).")
@_day_option("--to", "Last day of the window, YYYY-MM-DD (default: today, UTC).")
@click.option("--tls", is_flag=True, help="SMTP TLS reports instead: sessions and failures.")
@click.option(
    "--no-ptr", is_flag=True, help="Do not look up the sources' PTR names (no DNS at all)."
)
@dns_options
@db_option
@format_option
@config_option
def dmarc_command(
    domain: str | None,
    tls: bool,
    no_ptr: bool,
    nameservers: tuple[str, ...],
    timeout: float | None,
    retries: int | None,
    db: str | None,
    output_format: str,
    config: str | None,
    **window: datetime | None,
) -> int:
    """Who sends as each domain, what passes DMARC, and whether it can enforce.

    From the DMARC aggregate reports imported (``import dmarc`` or the
    reporting mailbox). Sources are named by their ESP (DKIM d=, SPF
    MAIL FROM, PTR) or their forward-confirmed PTR's registered domain.
    """
    from checks.dns import DnsSweep
    from compliance.dmarc_reports.senders import resolve_ptr_names
    from compliance.dmarc_reports.summary import dmarc_summary, source_ips, tls_summary

    given_to, given_from = window.get("to"), window.get("from")
    last: date = (given_to or datetime.now(UTC)).date()
    first: date = given_from.date() if given_from else last - timedelta(days=30)
    if first > last:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    settings = settings_from(config, db, nameservers, timeout, retries=retries)
    with database(settings) as sessions, sessions() as session:
        if tls:
            document: dict[str, object] = {
                "from": first.isoformat(),
                "to": last.isoformat(),
                "tls": tls_summary(session, start=first, end=last, domain=domain),
            }
            _print_tls(document, output_format)
            return 0
        names: dict[str, str] = {}
        if not no_ptr:
            ips = source_ips(session, start=first, end=last, domain=domain)
            names = resolve_ptr_names(ips, DnsSweep(settings.dns))
        summary = dmarc_summary(session, start=first, end=last, domain=domain, ptr_names=names)
    if output_format == "json":
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(render_dmarc_table(summary))
    return 0


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def render_dmarc_table(summary: dict[str, object]) -> str:
    """The summary for people: per domain its figures, worst sources, and the verdict."""
    domains = summary["domains"]
    assert isinstance(domains, dict)
    if not domains:
        return f"No DMARC aggregate reports from {summary['from']} to {summary['to']}."
    lines: list[str] = []
    for name, figures in domains.items():
        total = figures["messages"]
        disp = figures["dispositions"]
        lines += [
            f"{name} (p={figures['policy'] or '?'}), {summary['from']} .. {summary['to']}: "
            f"{total:,} messages, DMARC pass {_percent(figures['dmarc_pass'], total)}, "
            f"SPF aligned {_percent(figures['spf_aligned'], total)}, "
            f"DKIM aligned {_percent(figures['dkim_aligned'], total)}",
            f"  dispositions: none {disp['none']:,}, quarantine {disp['quarantine']:,}, "
            f"reject {disp['reject']:,}",
            "  reporters: "
            + ", ".join(f"{org} {count:,}" for org, count in figures["reporters"].items()),
            "  sources (worst first):",
        ]
        for source in figures["sources"][:15]:
            lines.append(
                f"    {source['ip']:<39} {source['name'][:30]:<30} {source['messages']:>10,} "
                f"pass {_percent(source['dmarc_pass'], source['messages']):>6}"
            )
        if len(figures["sources"]) > 15:
            lines.append(f"    … {len(figures['sources']) - 15} more (--format json lists all)")
        verdict = figures["verdict"]
        lines.append(f"  verdict: {verdict['message']}")
        for source in verdict["failing_sources"]:
            if source["kind"] == "unknown":
                continue
            lines.append(
                f"    {source['name']} ({source['ip']}, {source['dmarc_fail']:,} failing): "
                + "; ".join(source["fixes"])
            )
    return "\n".join(lines)


def _print_tls(document: dict[str, object], output_format: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(document, indent=2))
        return
    tls = document["tls"]
    assert isinstance(tls, dict)
    if not tls:
        click.echo(f"No SMTP TLS reports from {document['from']} to {document['to']}.")
    for domain, figures in tls.items():
        failures = ", ".join(f"{k} {v:,}" for k, v in figures["failures"].items()) or "none"
        click.echo(
            f"{domain}: {figures['successful']:,} successful, {figures['failed']:,} failed "
            f"TLS sessions; failures: {failures}"
        )
