"""The ``postwarden`` command line.

Exit codes follow the monitoring-plugin convention: 0 pass, 1 warn, 2 fail,
3 error or could not run (bad usage, bad input), with a one-line reason on
stderr and never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy.exc import OperationalError

from checks.blocklist_catalogue import CatalogueError
from checks.blocklists import BlocklistPlan
from checks.results import TargetResult
from checks.sweep import check_targets
from checks.targets import Target, parse_target, validate_selector
from monitor.blocklist_plan import make_plan
from monitor.cli_alerts import alerts
from monitor.cli_contacts import audit, contacts
from monitor.cli_dmarc import dmarc_command, import_dmarc_command
from monitor.cli_events import campaigns, import_group, rates
from monitor.cli_inbox import inbox
from monitor.cli_init import init_command
from monitor.cli_messages import audit_message_command
from monitor.cli_options import (
    config_option,
    database,
    dns_options,
    format_option,
    settings_from,
)
from monitor.cli_targets import domains, ips
from monitor.cli_users import users
from monitor.output import (
    exit_code,
    render_catalogue_json,
    render_catalogue_table,
    render_json,
    render_listings_json,
    render_listings_table,
    render_table,
)
from monitor.settings import Settings, SettingsError
from store.errors import DatabaseError

EXIT_BAD_INPUT = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="postwarden")
def cli() -> None:
    """Postwarden: deliverability monitoring and compliance auditing."""


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--selector",
    "selectors",
    multiple=True,
    metavar="NAME",
    help="DKIM selector to check (repeatable). Without one, selectors are discovered.",
)
@dns_options
@format_option
@click.option("--concurrency", type=click.IntRange(min=1), help="Probes in flight (default 64).")
@click.option(
    "--zone",
    "zones",
    multiple=True,
    metavar="ZONE",
    help="IP blocklist to ask, by zone or catalogue id (repeatable; replaces the catalogue).",
)
@click.option(
    "--domain-zone",
    "domain_zones",
    multiple=True,
    metavar="ZONE",
    help="Domain blocklist to ask (repeatable; replaces the catalogue).",
)
@click.option("--no-blocklists", is_flag=True, help="Skip the blocklists check.")
@click.option("--save", is_flag=True, help="Record this run in the database (history).")
@click.option(
    "--fresh",
    is_flag=True,
    help="With --save: ask every blocklist now, even about pairs within the re-check interval.",
)
@click.option("--db", metavar="URL", help="Database URL (with --save).")
@config_option
def check(
    targets: tuple[str, ...],
    selectors: tuple[str, ...],
    nameservers: tuple[str, ...],
    timeout: float | None,
    retries: int | None,
    output_format: str,
    concurrency: int | None,
    zones: tuple[str, ...],
    domain_zones: tuple[str, ...],
    no_blocklists: bool,
    save: bool,
    fresh: bool,
    db: str | None,
    config: str | None,
) -> int:
    """One-shot checks of domains and IPs (auto-detected).

    Domains get SPF, DMARC, DKIM, MX and domain blocklists; IP addresses get
    reverse DNS (PTR with forward confirmation) and IP blocklists.
    """
    settings = settings_from(config, db, nameservers, timeout, concurrency, retries)
    try:
        clean_selectors = tuple(validate_selector(s) for s in selectors)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--selector") from None
    parsed: list[Target] = []
    for text in targets:
        try:
            parsed.append(parse_target(text, clean_selectors))
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="TARGET") from None
    if no_blocklists and (zones or domain_zones):
        raise click.UsageError("--no-blocklists cannot be combined with --zone/--domain-zone")
    plan = None if no_blocklists else make_plan(settings.blocklists, zones, domain_zones)
    if save:
        results = _check_and_save(parsed, settings, plan, fresh=fresh)
    else:
        results = check_targets(
            parsed, settings.dns, concurrency=settings.concurrency, blocklists=plan
        )
    _print(results, output_format)
    return exit_code(results)


def _check_and_save(
    targets: Sequence[Target], settings: Settings, plan: BlocklistPlan | None, *, fresh: bool
) -> list[TargetResult]:
    """Check ``targets`` and record the run; a run that cannot be saved is not run.

    Blocklist verdicts younger than the re-check interval are taken from the
    history instead of asking the list again, unless ``fresh``.
    """
    # Imported here so one-shot checks never pay for SQLAlchemy and Alembic.
    from monitor.blocklist_history import recent_listings
    from monitor.history import record_run
    from store.engine import open_database, session_factory

    engine = open_database(settings.database_url)
    sessions = session_factory(engine)
    try:
        started = datetime.now(UTC)
        if plan is not None and not fresh:
            interval = timedelta(minutes=settings.blocklists.recheck_minutes)
            with sessions() as session:
                reuse = recent_listings(session, [t.name for t in targets], started, interval)
            plan = replace(plan, reuse=reuse)
        results = check_targets(
            targets, settings.dns, concurrency=settings.concurrency, blocklists=plan
        )
        with sessions.begin() as session:
            record_run(session, results, started_at=started, finished_at=datetime.now(UTC))
    finally:
        engine.dispose()
    return results


def _print(results: Sequence[TargetResult], output_format: str) -> None:
    click.echo(render_json(results) if output_format == "json" else render_table(results))


@cli.command()
@click.argument("target", required=False)
@click.option("--open", "open_only", is_flag=True, help="Only listings that have not ended.")
@click.option("--db", metavar="URL", help="Database URL.")
@format_option
@config_option
def listings(
    target: str | None, open_only: bool, db: str | None, output_format: str, config: str | None
) -> int:
    """Blocklist listings recorded by saved runs: when each began, ended and how long it lasted."""
    from monitor.blocklist_history import listing_history

    name = parse_target(target).name if target else None
    with database(settings_from(config, db)) as sessions, sessions() as session:
        episodes = listing_history(session, name, open_only=open_only)
    now = datetime.now(UTC)
    if output_format == "json":
        click.echo(render_listings_json(episodes, now))
    else:
        click.echo(render_listings_table(episodes, now))
    return 0


@cli.command("findings")
@format_option
def list_findings(output_format: str) -> int:
    """List every finding code with its level, meaning and default fix."""
    if output_format == "json":
        click.echo(render_catalogue_json())
    else:
        click.echo(render_catalogue_table())
    return 0


cli.add_command(domains)
cli.add_command(ips)
cli.add_command(alerts)
cli.add_command(import_group)
cli.add_command(inbox)
cli.add_command(rates)
cli.add_command(campaigns)
cli.add_command(audit)
cli.add_command(contacts)
cli.add_command(audit_message_command)
cli.add_command(users)
cli.add_command(init_command)
import_group.add_command(import_dmarc_command)
cli.add_command(dmarc_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: map every failure to an exit code."""
    try:
        code = cli.main(args=argv, prog_name="postwarden", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("postwarden: aborted", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.UsageError as error:
        click.echo(f"postwarden: error: {error.format_message()}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.ClickException as error:
        click.echo(f"postwarden: error: {error.format_message()}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except SettingsError as error:
        click.echo(f"postwarden: config error: {error}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except DatabaseError as error:
        click.echo(f"postwarden: database error: {error}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except OperationalError as error:
        # The database failed under the command (disk full, server gone): its
        # transaction is rolled back, so nothing of it was kept.
        reason = str(error.orig or error).strip().splitlines()[0]
        click.echo(
            f"postwarden: database error: {reason}; its transaction was rolled back", err=True
        )
        sys.exit(EXIT_BAD_INPUT)
    except CatalogueError as error:
        click.echo(f"postwarden: blocklist error: {error}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(code if isinstance(code, int) else 0)
