"""``postwarden import contacts``, ``postwarden audit`` and ``postwarden contacts erase``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from checks.findings import EXIT_CODES
from compliance.csv_files import CsvWriter
from monitor.cli.options import (
    as_of_option,
    config_option,
    database,
    day_of,
    db_option,
    dns_options,
    format_option,
    import_each,
    settings_from,
)

CONTACT_SOURCES = ("auto", "mailchimp", "mailjet", "brevo", "generic")
RULE_NAMES = (
    "consent_missing", "optin_unconfirmed", "optin_evidence_incomplete", "consent_stale",
    "dormant", "inactive", "mailed_after_unsubscribe", "mailed_after_hard_bounce",
    "mailed_after_complaint", "retention_exceeded",
)  # fmt: skip


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, equals, column = pair.partition("=")
        if not equals or not field.strip() or not column.strip():
            raise click.BadParameter(f"{pair!r} is not FIELD=COLUMN", param_hint="--map")
        mapping[field.strip()] = column.strip()
    return mapping


@click.command("contacts")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--source",
    type=click.Choice(CONTACT_SOURCES),
    default="auto",
    show_default=True,
    help="Export format; auto tells them apart by the header.",
)
@click.option("--list", "list_name", default="default", show_default=True, help="List name.")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Read FIELD from COLUMN (repeatable), e.g. --map address=E-Mail.",
)
@click.option("--delimiter", help="Field separator (default: the format's, else detected).")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding.")
@db_option
@config_option
def import_contacts_command(
    files: tuple[Path, ...],
    source: str,
    list_name: str,
    mapping: tuple[str, ...],
    delimiter: str | None,
    encoding: str,
    db: str | None,
    config: str | None,
) -> int:
    """Import contact exports (Mailchimp, Mailjet, Brevo, generic CSV), each all or nothing.

    Contacts already stored (same list and address) are updated, not added
    again; erased addresses are skipped.
    """
    from compliance.contacts.importer import ContactImportFailed, import_contacts

    try:
        "".encode(encoding)
    except LookupError:
        raise click.BadParameter(
            f"unknown encoding {encoding!r}", param_hint="--encoding"
        ) from None
    fields = _mapping(mapping)
    with database(settings_from(config, db)) as sessions:
        import_each(
            sessions, files,
            lambda session, path, **more: import_contacts(
                session, path, now=datetime.now(UTC), source=source, list_name=list_name,
                mapping=fields, delimiter=delimiter, encoding=encoding, **more,
            ),
            ContactImportFailed,
        )  # fmt: skip
    return 0


@click.command()
@as_of_option
@click.option("--rule", type=click.Choice(RULE_NAMES), help="With --list: the rule to list.")
@click.option("--list", "list_all", is_flag=True, help="Print every offender of --rule as CSV.")
@click.option(
    "--resolve-domains",
    is_flag=True,
    help="Also resolve each recipient domain (MX, else A) and report those that take no mail.",
)
@dns_options
@click.option("--no-save", is_flag=True, help="Do not keep this run in the audit history.")
@db_option
@format_option
@config_option
def audit(
    as_of: datetime | None,
    rule: str | None,
    list_all: bool,
    resolve_domains: bool,
    nameservers: tuple[str, ...],
    timeout: float | None,
    retries: int | None,
    no_save: bool,
    db: str | None,
    output_format: str,
    config: str | None,
) -> int:
    """List-compliance audit over stored contacts and events; exits by the worst rule."""
    from compliance.audit.list_audit import OFFENDER_COLUMNS, offenders, run_audit, store_audit
    from monitor.output import render_audit_table

    settings = settings_from(config, db, nameservers, timeout, None, retries)
    day = day_of(as_of)
    thresholds = settings.audit
    if list_all or rule:
        if not (list_all and rule):
            raise click.UsageError("--list and --rule go together: --rule RULE --list")
        with database(settings) as sessions, sessions() as session:
            writer = CsvWriter(sys.stdout)
            writer.writerow(OFFENDER_COLUMNS)
            for row in offenders(session, rule, day, thresholds):
                writer.writerow(row)
        return 0
    resolver = None
    if resolve_domains:
        from checks.mail_domains import mail_domain_verdicts

        def resolver(domains: Any) -> dict[str, str]:
            return mail_domain_verdicts(domains, settings.dns, settings.concurrency)

    with database(settings) as sessions, sessions() as session:
        report = run_audit(session, day, thresholds, resolve_domains=resolver)
        if not no_save:
            store_audit(session, report, datetime.now(UTC))
            session.commit()
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render_audit_table(report))
    return EXIT_CODES[report.status]


@click.group()
def contacts() -> None:
    """Data-protection actions on stored contacts."""


@contacts.command("erase")
@click.argument("addresses", nargs=-1, required=True)
@db_option
@config_option
def erase_command(addresses: tuple[str, ...], db: str | None, config: str | None) -> int:
    """Erase addresses (right to erasure): personal data removed, a salted hash suppressed."""
    from compliance.contacts.erasure import erase

    with database(settings_from(config, db)) as sessions, sessions() as session:
        removed = erase(session, addresses, "erased", datetime.now(UTC))
        session.commit()
    click.echo(
        f"{len(addresses)} address(es) erased: {removed} contact record(s) removed, "
        "events anonymised, suppressed from future imports"
    )
    return 0
