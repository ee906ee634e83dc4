"""``postwarden serve`` and ``postwarden worker``: the long-running processes.

In ``web`` because they run the web app and the reports' jobs; everything heavy is
imported when the command runs.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import click

from monitor.cli.options import config_option, db_option, settings_from

if TYPE_CHECKING:
    from monitor.settings import Settings


@click.command()
@db_option
@config_option
def worker(db: str | None, config: str | None) -> int:
    """Run the schedule (sweeps, alerts, deliveries, reports) until SIGTERM.

    With PostgreSQL several workers may run: one leads, the others stand by
    and take over when it stops. With SQLite a second one refuses to start.
    """
    from monitor.cli.service import configure_logging, stop_on_signals
    from monitor.scheduler import run_worker
    from reports.jobs import report_jobs

    settings = settings_from(config, db)
    configure_logging()
    warn_of_exposed_files(settings)
    stop = threading.Event()
    stop_on_signals(stop)
    run_worker(settings, stop, extra_jobs=report_jobs)
    return 0


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8025, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-scheduler", is_flag=True, help="Serve the web app only (run `worker` apart).")
@db_option
@config_option
def serve(host: str, port: int, no_scheduler: bool, db: str | None, config: str | None) -> int:
    """Dashboard, API and scheduler in one process, served by waitress."""
    from monitor.cli.service import configure_logging, stop_on_signals
    from store.engine import open_database
    from web.serving import serve_until_stopped

    settings = settings_from(config, db)
    configure_logging()
    engine = open_database(settings.database_url)
    warn_of_exposed_files(settings)
    stop = threading.Event()
    stop_on_signals(stop)

    def announce(bound: int) -> None:
        click.echo(f"postwarden: serving on http://{host}:{bound}/", err=True)

    try:
        serve_until_stopped(
            settings, engine, host, port, stop, scheduler=not no_scheduler, ready=announce
        )
    except OSError as error:
        raise click.ClickException(f"cannot serve on {host}:{port}: {error.strerror}") from None
    finally:
        engine.dispose()
    return 0


def warn_of_exposed_files(settings: Settings) -> None:
    """Say loudly, on stderr, which secret-bearing files others may read."""
    from monitor.file_permissions import exposed_files

    for warning in exposed_files(settings):
        click.secho(f"postwarden: {warning}", err=True, fg="red", bold=True)
