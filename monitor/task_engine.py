"""The task engine (procrastinate on PostgreSQL) that every worker shares.

With PostgreSQL, each ``postwarden worker`` (and ``serve``) runs, beside the
scheduler's leader election, a procrastinate worker in a thread of its own:
it takes sweep chunks (:mod:`monitor.sweep_chunks`) from the ``sweeps``
queue, one at a time, whichever process planned them. Adding a machine adds a
worker, and so capacity.

A worker beats its heartbeat every ``[schedule] heartbeat_seconds``; the
periodic ``retry_stalled_jobs`` task (deferred once per period however many
workers run, procrastinate's own de-duplication) puts the jobs of a worker
silent for three heartbeats back in the queue, where another takes them. A
chunk job that raises (the database went away mid-chunk, say) is retried by
procrastinate's retry strategy. Both are harmless because recording a chunk
is idempotent.

With SQLite none of this runs: the scheduler sweeps in its own process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import procrastinate
from procrastinate.types import JSONValue
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from monitor.engine_status import MISSED_HEARTBEATS
from monitor.settings import Settings
from monitor.sweep_chunks import Defer, run_chunk

logger = logging.getLogger(__name__)

QUEUE = "sweeps"
CHUNK_TASK = "postwarden.sweep_chunk"
STALLED_TASK = "postwarden.retry_stalled_jobs"
# A chunk that raised is tried again this often, this long apart (a database restart
# or a network cut mid-chunk is over well within it).
CHUNK_RETRY = procrastinate.RetryStrategy(max_attempts=20, wait=2, linear_wait=1)


def conninfo(database_url: str) -> str:
    """The libpq URI of a SQLAlchemy ``postgresql+psycopg://`` URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def make_app(
    settings: Settings, sessions: sessionmaker[Session] | None = None
) -> procrastinate.App:
    """The engine's app with Postwarden's tasks; ``sessions`` to run them (workers only)."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url))
    )
    worker_name = f"{socket.gethostname()}:{os.getpid()}"
    heartbeat = settings.schedule.heartbeat_seconds

    @app.task(name=CHUNK_TASK, queue=QUEUE, retry=CHUNK_RETRY)
    def sweep_chunk(sweep_id: int, chunk: int) -> str:
        if sessions is None:
            raise RuntimeError("this app defers chunks; it cannot run them")
        with sessions() as session:
            outcome = run_chunk(
                session, sweep_id, chunk, settings,
                worker=worker_name, clock=lambda: datetime.now(UTC),
            )  # fmt: skip
        logger.info("%s", outcome)
        return outcome

    # Every few heartbeats (a 6th cron field is seconds); at least once a minute.
    every = max(1, min(59, round(heartbeat)))

    @app.periodic(cron=f"* * * * * */{every}")
    @app.task(name=STALLED_TASK, queue=QUEUE, queueing_lock=STALLED_TASK, pass_context=True)
    async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> int:
        stalled = await context.app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=heartbeat * MISSED_HEARTBEATS
        )
        for job in stalled:
            logger.warning("job %s of a silent worker is put back in the queue", job.call_string)
            await context.app.job_manager.retry_job(job)
        return len(list(stalled))

    return app


def defer_chunk_on(app: procrastinate.App) -> Defer:
    """A :data:`monitor.sweep_chunks.Defer` inserting the jobs on the session's own
    connection, so that they are committed with the sweep's plan or not at all."""

    def defer(session: Session, sweep_id: int, chunks: Sequence[int]) -> None:
        connection = session.connection().connection.driver_connection
        deferrer = app.configure_task(name=CHUNK_TASK, queue=QUEUE, connection=connection)
        jobs: list[dict[str, JSONValue]] = [{"sweep_id": sweep_id, "chunk": c} for c in chunks]
        deferrer.batch_defer(*jobs)

    return defer


class EngineWorker:
    """A procrastinate worker in a thread of its own, stopped with the process."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.app = make_app(settings, sessions)
        self.heartbeat = settings.schedule.heartbeat_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="task-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.run(self._work())

    async def _work(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._ready.set()
        # Procrastinate stops its worker when a side task (the LISTEN connection, the
        # heartbeat) loses the database, leaving the restart to a supervisor: this is it.
        # The jobs it held are found stalled and run again, which recording allows.
        while True:
            try:
                async with self.app.open_async():
                    await self.app.run_worker_async(
                        queues=[QUEUE],
                        concurrency=1,
                        name=f"{socket.gethostname()}:{os.getpid()}",
                        install_signal_handlers=False,
                        update_heartbeat_interval=self.heartbeat,
                        stalled_worker_timeout=self.heartbeat * MISSED_HEARTBEATS,
                        # Finished jobs leave the queue; failed ones stay to be seen.
                        delete_jobs="successful",
                    )
            except asyncio.CancelledError:
                logger.info("task engine worker stopped")
                return
            except Exception as error:  # any failure: logged, and the worker started again
                logger.warning("task engine worker failed: %r", error)
            logger.warning("task engine worker stopped; starting again in %g s", self.heartbeat)
            try:
                await asyncio.sleep(self.heartbeat)
            except asyncio.CancelledError:
                return

    def stop(self) -> None:
        """Stop taking jobs, let the running one finish, and wait for the thread."""
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join()


def __getattr__(name: str) -> procrastinate.App:
    """``monitor.task_engine.app``: the app for procrastinate's own CLI, built when asked
    from the settings (``$POSTWARDEN_CONFIG``, the environment), so that
    ``procrastinate --app=monitor.task_engine.app shell`` lists and retries our jobs."""
    if name == "app":
        from monitor.settings import load_settings

        return make_app(load_settings())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
