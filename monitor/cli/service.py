"""What the long-running commands share: logging to stderr and stopping on signals.

``worker`` and ``serve`` themselves are in ``web.serve_cli``: they run the reports'
jobs too, which sit above monitor.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType


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
    # Procrastinate logs each job's start and end (a chunk says what it did itself).
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
