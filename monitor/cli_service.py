"""``postwarden worker``: the scheduler alone (``serve`` adds the web app)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from monitor.cli_options import config_option, db_option, settings_from


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop``; the scheduler then finishes running jobs and exits."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info(
            "%s: stopping after running jobs", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def configure_logging() -> None:
    """One line per event on stderr, for journald and container logs."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # APScheduler logs every job start and end at INFO (job_runs keeps
    # those), Alembic every migration step at every start.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@click.command()
@db_option
@config_option
def worker(db: str | None, config: str | None) -> int:
    """Run the schedule (sweeps, alerts, deliveries) until SIGTERM.

    With PostgreSQL several workers may run: one leads, the others stand by
    and take over when it stops. With SQLite a second one refuses to start.
    """
    from monitor.scheduler import SchedulerConflict, run_worker

    settings = settings_from(config, db)
    configure_logging()
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        run_worker(settings, stop)
    except SchedulerConflict as error:
        raise click.ClickException(str(error)) from None
    return 0
