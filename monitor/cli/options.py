"""Options and helpers shared by the ``postwarden`` commands.

Imported by every command module at start-up: it imports only click at the top.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from checks.errors import BadInput

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from monitor.settings import Settings

T = TypeVar("T")


def settings_from(
    config: str | None,
    db: str | None = None,
    nameservers: Sequence[str] = (),
    timeout: float | None = None,
    concurrency: int | None = None,
    retries: int | None = None,
) -> Settings:
    """Settings from file and environment, with command-line options on top."""
    # Imported here: every command module imports this one, and `--help` lists them all.
    from checks.dns_settings import parse_nameserver
    from monitor.settings import load_settings

    settings = load_settings(config)
    dns = settings.dns
    if nameservers:
        try:
            parsed = tuple(parse_nameserver(ns) for ns in nameservers)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--nameserver") from None
        dns = replace(dns, nameservers=parsed)
    if timeout is not None:
        dns = replace(dns, timeout=timeout)
    if retries is not None:
        dns = replace(dns, retries=retries)
    return replace(
        settings,
        dns=dns,
        database_url=db or settings.database_url,
        concurrency=concurrency or settings.concurrency,
    )


def process_started() -> float | None:
    """When this process started, as a ``time.monotonic()`` value; None if unknown.

    Read from ``/proc/self/stat`` (Linux): the start-up (imports) of a
    one-shot check counts against its time budget.
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        # Field 22, counted after the parenthesised command name.
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        hertz = os.sysconf("SC_CLK_TCK")
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / hertz
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return time.monotonic() - max(0.0, age)


def dns_options(func: Any) -> Any:
    func = click.option(
        "--retries",
        type=click.IntRange(min=0),
        help="Times a lookup that timed out is sent again (default 1).",
    )(func)
    func = click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        help=(
            "Seconds to wait for one DNS answer (default 2); a target's checks"
            " wait for DNS 2 x timeout x (retries + 1) at most."
        ),
    )(func)
    func = click.option(
        "--nameserver",
        "nameservers",
        multiple=True,
        metavar="HOST[:PORT]",
        help="Resolver to ask (repeatable; IPv6 as [::1]:5353). Default: config, then system.",
    )(func)
    return func


def format_option(func: Any) -> Any:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="table for people, json for machines.",
    )(func)


def config_option(func: Any) -> Any:
    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        help="Config file (default: $POSTWARDEN_CONFIG, else ./postwarden.toml).",
    )(func)


def db_option(func: Any) -> Any:
    return click.option(
        "--db", metavar="URL", help="Database URL (default: config, else ./postwarden.db)."
    )(func)


def with_file_progress(path: Path, run: Callable[..., T]) -> T:
    """``run(progress=…)``: on a terminal ``progress(bytes_done)`` moves a bar over the file."""
    if not sys.stderr.isatty():
        return run(progress=None)
    with click.progressbar(length=path.stat().st_size, label=path.name, file=sys.stderr) as bar:
        seen = [0]

        def advance(done: int) -> None:
            bar.update(done - seen[0])
            seen[0] = done

        return run(progress=advance)


def import_each(
    sessions: sessionmaker[Session],
    files: Iterable[Path],
    run: Callable[..., object],
    failure: type[Exception] = BadInput,
) -> None:
    """Import each file in its own transaction, all or nothing, printing its report.

    ``run(session, path, progress=…)`` imports one file; ``failure`` (any bad input
    unless narrower) rolls that file back and ends the command with its one-line
    message (``web.cli.main`` tells it).
    """
    for path in files:
        if not path.is_file():
            raise click.BadParameter(f"{path}: no such file", param_hint="FILE")
        with sessions() as session:
            try:
                report = with_file_progress(path, partial(run, session, path))
            except failure:
                session.rollback()
                raise
            session.commit()
        click.echo(str(report))


@contextmanager
def database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database, its schema brought up to date."""
    # Imported here so commands that need no database never pay for SQLAlchemy and Alembic.
    from store.engine import open_database, session_factory

    engine = open_database(settings.database_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def as_of_option(func: Any) -> Any:
    return click.option(
        "--as-of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        help="Last day of the window, YYYY-MM-DD (default: today, UTC).",
    )(func)


def days_option(func: Any) -> Any:
    return click.option(
        "--days", type=click.IntRange(min=1), help="Length of the window (default 30)."
    )(func)


def day_of(as_of: datetime | None) -> date:
    """The day of ``--as-of``, else today (UTC)."""
    return as_of.date() if as_of else datetime.now(UTC).date()
