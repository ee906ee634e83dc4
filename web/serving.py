"""Serving the web app with waitress, and the schedule beside it, until told to stop.

``postwarden serve`` and ``postwarden demo`` both run this; they differ in what they
serve and what they print once the port is open.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from monitor.scheduler import SchedulerConflict, run_worker
from monitor.settings import Settings
from reports.jobs import report_jobs
from store.engine import session_factory
from web.app import create_app
from web.policy import MAX_BODY_BYTES


class _AtMostEvery(logging.Filter):
    """Lets one record through per ``seconds``, saying how many were held back."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        with self._lock:
            if now < self._next:
                self._held += 1
                return False
            if self._held:
                record.msg = f"{record.msg} ({self._held} more such warnings not logged)"
            self._next, self._held = now + self._seconds, 0
        return True


# waitress warns on every request queued while all its threads are busy: under
# load, thousands of lines a second, costing the CPU the requests wait for.
_QUEUE_WARNINGS = _AtMostEvery(60.0)


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

    # addFilter ignores a filter the logger already has: serving twice adds it once.
    logging.getLogger("waitress.queue").addFilter(_QUEUE_WARNINGS)
    app = create_app(settings, session_factory(engine))
    # waitress refuses a larger body (413) before reading it, instead of spooling
    # it to a temporary file for the app to refuse. It refuses a body of its limit
    # too, the app only a larger one: one more byte, so both draw the line alike.
    proxies: dict[str, Any] = {}
    if settings.web.trusted_proxies:
        # The client's address (login throttling) and scheme as the proxies in front saw
        # them; without proxies waitress drops these headers, which anyone can write.
        proxies = {
            "trusted_proxy": "*",
            "trusted_proxy_count": settings.web.trusted_proxies,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
        }
    server = create_server(app, host=host, port=port, threads=settings.web.threads,
                           max_request_body_size=MAX_BODY_BYTES + 1, **proxies)  # fmt: skip
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
        app.extensions["postwarden_inbox"].close()
    if failure:
        raise failure[0]
