"""``postwarden check``: one-shot checks of domains and IPs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click

from monitor.cli.options import config_option, dns_options, format_option, settings_from

if TYPE_CHECKING:
    from checks.blocklists import BlocklistPlan
    from checks.results import TargetResult
    from checks.targets import Target
    from checks.transport import TransportPlan
    from monitor.settings import Settings
    from monitor.sweep_batches import ResultSpool


@click.command()
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
@click.option(
    "--no-transport",
    is_flag=True,
    help="Skip the transport and brand checks (MTA-STS, TLS-RPT, STARTTLS, DNSSEC, DANE, BIMI).",
)
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
    no_transport: bool,
    save: bool,
    fresh: bool,
    db: str | None,
    config: str | None,
) -> int:
    """One-shot checks of domains and IPs (auto-detected).

    Domains get SPF, DMARC, DKIM, MX, domain blocklists and the transport and
    brand checks; IP addresses get reverse DNS (PTR with forward confirmation)
    and IP blocklists.
    """
    # Imported here: they import dnspython and checkdmarc, which `--help` need not pay for.
    from checks.targets import parse_target, validate_selector
    from monitor.output import echo_results
    from monitor.transport_history import transport_plan

    settings = settings_from(config, db, nameservers, timeout, concurrency, retries)
    if no_transport:
        settings = replace(settings, transport=replace(settings.transport, enabled=False))
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
    plan = None
    if not no_blocklists:
        # Imported only when asked for: the blocklist client (asyncio and
        # dnspython's asynchronous queries) is start-up a check without it need not pay.
        from monitor.blocklist_plan import make_plan

        plan = make_plan(settings.blocklists, zones, domain_zones)
    if not save:
        transport = transport_plan(settings, datetime.now(UTC))
        # The console script passes when its process started: its start-up
        # counts against the first target's DNS time budget.
        context = click.get_current_context()
        started = context.obj.get("started") if isinstance(context.obj, dict) else None
        batches = checked_in_batches(parsed, settings, plan, transport, started)
        return echo_results(batches, output_format)
    spool = _check_and_save(parsed, settings, plan, fresh=fresh)
    try:
        return echo_results(spool.read(), output_format)
    finally:
        spool.close()


# Targets a one-shot check holds at once: smaller than a sweep's batches
# (monitor.sweep_batches), since its peak memory is what a monitoring plugin
# pays on every run; 500 targets keep 64 probe threads busy.
CHECK_BATCH_SIZE = 500


def checked_in_batches(
    targets: Sequence[Target],
    settings: Settings,
    plan: BlocklistPlan | None,
    transport: TransportPlan | None = None,
    started: float | None = None,
) -> Iterator[list[TargetResult]]:
    """The results of ``targets``, a batch at a time, over one shared DNS sweep.

    Each batch is printed and let go before the next is checked, and the
    cache keeps only what several targets asked for: memory does not grow
    with the number of targets. ``started`` (a ``time.monotonic()`` value)
    is when the first target's DNS time budget began.
    """
    from checks.dns import DnsSweep
    from checks.sweep import check_targets

    sweep = DnsSweep(settings.dns)
    for start in range(0, len(targets), CHECK_BATCH_SIZE):
        yield check_targets(
            targets[start : start + CHECK_BATCH_SIZE],
            concurrency=settings.concurrency,
            blocklists=plan,
            transport=transport,
            started=started if start == 0 else None,
            sweep=sweep,
        )
        sweep.cache.release_unshared()


def _check_and_save(
    targets: Sequence[Target], settings: Settings, plan: BlocklistPlan | None, *, fresh: bool
) -> ResultSpool:
    """Check ``targets`` and record the run; the results, spooled to be printed.

    A run that cannot be saved is not run. Blocklist verdicts younger than
    the re-check interval are taken from the history instead of asking the
    list again, unless ``fresh``. Like a sweep, the targets are checked a
    batch at a time into a spool and recorded from it a batch at a time, in
    one transaction opened after the last lookup: memory holds one batch.
    """
    # Imported here so one-shot checks never pay for SQLAlchemy and Alembic.
    from checks.dns import DnsSweep
    from checks.sweep import check_targets
    from monitor.blocklist_history import recent_listings
    from monitor.history import record_run_in_batches
    from monitor.sweep_batches import slices, sweep_in_batches
    from monitor.transport_history import transport_plan
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
        with sessions() as session:
            domains = [t.name for t in targets if t.kind == "domain"]
            transport = transport_plan(settings, started, session, domains)
        sweep = DnsSweep(settings.dns)
        spool = sweep_in_batches(
            slices(targets, CHECK_BATCH_SIZE),
            lambda batch: check_targets(
                batch,
                concurrency=settings.concurrency,
                blocklists=plan,
                transport=transport,
                sweep=sweep,
            ),
            after_batch=sweep.cache.release_unshared,
        )
        try:
            with sessions.begin() as session:
                record_run_in_batches(
                    session, spool.read(), started_at=started, finished_at=datetime.now(UTC)
                )
        except BaseException:
            spool.close()
            raise
    finally:
        engine.dispose()
    return spool
