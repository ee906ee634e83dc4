"""Serving the web app with waitress, and the schedule beside it, until told to stop.

``postwarden serve`` and ``postwarden demo`` both run this; they differ in what they
serve and what they print once the port is open.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine

from monitor.scheduler import SchedulerConflict, run_worker
from monitor.settings import Settings
from reports.jobs import report_jobs
from store.engine import session_factory
from web.app import create_app


def serve_until_stopped(
    settings: Settings,
    engine: Engine,
    host: str,
    port: int,
    stop: threading.Event,
    *,
    scheduler: bool = True,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Serve the dashboard, API and hooks on ``host:port`` (0: a free port) until ``stop``
    is set; with ``scheduler``, lead the schedule (reports' jobs included) in a thread.

    ``ready(port)`` is called once the port is open. When the schedule cannot be led
    (another scheduler holds a SQLite database), serving stops and
    :class:`SchedulerConflict` is raised; running jobs finish before this returns.
    """
    from waitress.server import create_server

    server = create_server(create_app(settings, session_factory(engine)), host=host, port=port)
    failure: list[SchedulerConflict] = []

    def schedule() -> None:
        try:
            run_worker(settings, stop, extra_jobs=report_jobs)
        except SchedulerConflict as error:
            failure.append(error)
            server.close()

    def shut_down() -> None:
        stop.wait()
        server.close()

    threads = [threading.Thread(target=shut_down, name="shutdown", daemon=True)]
    if scheduler:
        threads.append(threading.Thread(target=schedule, name="scheduler"))
    for thread in threads:
        thread.start()
    try:
        if ready is not None:
            ready(int(server.effective_port))
        server.run()
    except OSError:
        # waitress ends its loop by closing the listening socket under it.
        if not stop.is_set() and not failure:
            raise
    finally:
        stop.set()
        for thread in threads[1:]:
            thread.join()
    if failure:
        raise failure[0]
