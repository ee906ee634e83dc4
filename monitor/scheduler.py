"""The scheduler: APScheduler, its jobs persisted in Postwarden's database, one leader per database.

APScheduler 3 stores a job as a reference to a module-level function and
its arguments, so the stored jobs are ``run_scheduled("auth_sweep")`` and
carry no settings or secrets; ``_Active.runtime`` is how that function reaches
the settings and sessions of the scheduler this process runs. It is set
while this process leads and cleared when it stops.

Persisted next-run times make missed runs after a restart coalesce into one
(``coalesce``, no misfire grace limit); a job that raises is logged with its
traceback and recorded in ``job_runs``, and runs again at its next time;
stopping waits for running jobs, so SIGTERM stops between jobs.

A run is a row of ``job_runs`` keyed by job and scheduled time, inserted
before the job starts; its work commits together with its ``ok``, and only
while the row is still ``running``. So an occurrence runs once however many
schedulers fire it, and a run taken over by a new leader stores nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job as StoredJob
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.jobs import ScheduledJob, make_jobs
from monitor.leader import Leadership, SchedulerConflict, leadership_for
from monitor.settings import Settings
from store.engine import open_database, session_factory
from store.scheduling import JobRun

logger = logging.getLogger(__name__)

STANDBY_POLL = 5.0
HEARTBEAT = 5.0
QUIET_BELOW = timedelta(minutes=1)


@dataclass
class Runtime:
    """What scheduled jobs run with in this process."""

    jobs: dict[str, ScheduledJob]
    sessions: sessionmaker[Session]
    leadership: Leadership
    runner: str
    clock: Callable[[], datetime]

    def run(self, name: str, scheduled_for: datetime | None = None) -> None:
        """Run the occurrence ``scheduled_for`` of job ``name`` once, recording it; never raises.

        The run's row is inserted first, keyed by job and occurrence: when that
        key is taken, another scheduler has run (or runs) this occurrence, and
        this one does nothing. The job's work is committed in one transaction
        with the run's ``ok``, and only if the run is still ``running``: a
        worker whose run was taken over by a new leader (see :meth:`interrupted`)
        rolls its work back instead of storing it a second time.
        """
        job = self.jobs.get(name)
        if job is None:
            logger.error("scheduled job %r is not known to this version", name)
            return
        if not self.leadership.still_held():
            logger.warning("not running %s: this scheduler is no longer the leader", name)
            return
        now = self.clock()
        try:
            record_id = self._claim(name, scheduled_for or now, now)
        except DBAPIError as error:
            logger.warning("job %s not run: the database is unreachable: %s", name, error.orig)
            return
        if record_id is None:
            logger.warning(
                "not running %s of %s: another scheduler has run it", name, scheduled_for
            )
            return
        outcome, detail = "ok", ""
        try:
            with self.sessions() as session:
                detail = job.run(session, now)
                if not self._finish(session, record_id, "ok", detail):
                    session.rollback()
                    outcome = "discarded"
                else:
                    session.commit()
        except Exception:
            # A failing job must never stop the scheduler: log it, keep the
            # traceback with the run, and let it run again next time.
            logger.exception("job %s failed", name)
            outcome, detail = "failed", traceback.format_exc(limit=8)
            try:
                with self.sessions.begin() as session:
                    if not self._finish(session, record_id, outcome, detail):
                        outcome = "discarded"
            except DBAPIError as error:
                # Left running: the next leader marks it interrupted and runs it again.
                logger.error("job %s: its failure cannot be recorded: %s", name, error.orig)
                return
        if outcome == "discarded":
            logger.warning(
                "job %s: another scheduler took this run over; its work is discarded", name
            )
            return
        # Jobs that poll every few seconds (deliveries, queued reports) would fill the
        # log with their successes; job_runs keeps every run either way.
        level = logging.DEBUG if outcome == "ok" and job.interval < QUIET_BELOW else logging.INFO
        logger.log(level, "job %s %s: %s", name, outcome, detail.strip().splitlines()[-1:] or "")

    def _claim(self, name: str, occurrence: datetime, now: datetime) -> int | None:
        """The new run's id; None when the occurrence already has a run."""
        try:
            with self.sessions.begin() as session:
                record = JobRun(
                    job=name,
                    runner=self.runner,
                    started_at=now,
                    scheduled_for=occurrence,
                    outcome="running",
                )
                session.add(record)
                session.flush()
                return record.id
        except IntegrityError:
            return None

    def _finish(self, session: Session, record_id: int, outcome: str, detail: str) -> bool:
        """End run ``record_id`` in ``session``'s transaction; False if it is no longer ours.

        Conditional on ``running``: this UPDATE and the new leader's in
        :meth:`interrupted` take the same row lock, so exactly one of them wins.
        """
        finished = session.execute(
            update(JobRun)
            .where(JobRun.id == record_id, JobRun.outcome == "running")
            .values(outcome=outcome, detail=detail, finished_at=self.clock())
        )
        return bool(finished.rowcount == 1)  # type: ignore[attr-defined]

    def interrupted(self) -> list[str]:
        """Jobs another worker left ``running``: marked ``interrupted``; their names.

        Called by a new leader before its schedule starts, so no job of its own
        is running yet: every ``running`` row is another worker's, dead or
        cut off from the lock. Such a run can no longer commit its work (see
        :meth:`run`), so running the job again duplicates nothing.
        """
        now = self.clock()
        with self.sessions.begin() as session:
            marked = session.execute(
                update(JobRun)
                .where(JobRun.outcome == "running")
                .values(
                    outcome="interrupted",
                    finished_at=now,
                    detail=JobRun.runner + f" stopped during the run; {self.runner} runs it again",
                )
                .returning(JobRun.job)
            )
            names = sorted({job for job in marked.scalars() if job in self.jobs})
        for name in names:
            logger.warning("job %s was interrupted by another worker; running it again", name)
        return names


class _Active:
    """The runtime of the scheduler this process leads (see the module docstring)."""

    runtime: Runtime | None = None


def run_scheduled(name: str, scheduled_for: datetime | None = None) -> None:
    """What APScheduler calls (by reference) for the job ``name``."""
    runtime = _Active.runtime
    if runtime is None:
        logger.error("job %s fired with no scheduler runtime in this process", name)
        return
    runtime.run(name, scheduled_for)


class _Occurrence:
    """A stored job as the executor runs it: called with the occurrence it is for."""

    def __init__(self, job: StoredJob, scheduled_for: datetime) -> None:
        self._job = job
        self.kwargs = {**job.kwargs, "scheduled_for": scheduled_for}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class _OccurrenceExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, telling each run which occurrence it is.

    APScheduler 3 calls a job with its stored arguments only, but the
    scheduled time is what keys a run (coalesced runs are one run, of the
    latest occurrence).
    """

    def _do_submit_job(self, job: StoredJob, run_times: list[datetime]) -> None:
        super()._do_submit_job(_Occurrence(job, run_times[-1]), run_times[-1:])


def _start(runtime: Runtime, engine: Engine) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
        executors={"default": _OccurrenceExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )
    scheduler.start(paused=True)
    now = runtime.clock()
    for job in runtime.jobs.values():
        stored = scheduler.get_job(job.name)
        if stored is not None and getattr(stored.trigger, "interval", None) == job.interval:
            # Keep its persisted next run: if that is past, it runs once now.
            continue
        scheduler.add_job(
            run_scheduled,
            trigger=IntervalTrigger(seconds=job.interval.total_seconds(), timezone=UTC),
            args=[job.name],
            id=job.name,
            name=job.name,
            replace_existing=True,
            # A new job starts at once; a changed interval starts afresh.
            next_run_time=now if stored is None else now + job.interval,
        )
    for stored in scheduler.get_jobs():
        if stored.id not in runtime.jobs:
            scheduler.remove_job(stored.id)
    scheduler.resume()
    return scheduler


def run_worker(
    settings: Settings,
    stop: threading.Event,
    *,
    clock: Callable[[], datetime] | None = None,
    extra_jobs: Callable[[Settings], Iterable[ScheduledJob]] | None = None,
) -> None:
    """Lead the schedule until ``stop`` is set, or stand by until the leader goes.

    ``extra_jobs`` adds the jobs of layers above monitor (the reports'
    rendering and mailing), which monitor cannot import.

    Raises :class:`SchedulerConflict` when another scheduler runs a SQLite
    database's schedule.
    """
    engine = open_database(settings.database_url)
    leadership = leadership_for(engine)
    runner = f"{socket.gethostname()}:{os.getpid()}"
    engine_worker = None
    if engine.dialect.name == "postgresql":
        # Leader or standby, every worker takes sweep chunks from the task engine.
        from monitor.task_engine import EngineWorker

        engine_worker = EngineWorker(settings, session_factory(engine))
        engine_worker.start()
    try:
        announced = False
        while not stop.is_set():
            if not leadership.try_acquire():
                if not announced:
                    logger.info(
                        "%s: not leading (another scheduler leads, or the database "
                        "cannot be reached); standing by",
                        runner,
                    )
                    announced = True
                stop.wait(STANDBY_POLL)
                continue
            announced = False
            runtime = Runtime(
                jobs=make_jobs(settings, extra_jobs(settings) if extra_jobs else ()),
                sessions=session_factory(engine),
                leadership=leadership,
                runner=runner,
                clock=clock or (lambda: datetime.now(UTC)),
            )
            _Active.runtime = runtime
            interrupted = runtime.interrupted()
            scheduler = _start(runtime, engine)
            for name in interrupted:
                # Its own schedule runs it now (coalesced: never beside a regular run).
                scheduler.modify_job(name, next_run_time=runtime.clock())
            logger.info("%s leads the schedule: %s", runner, ", ".join(runtime.jobs))
            try:
                while not stop.wait(HEARTBEAT):
                    if not leadership.still_held():
                        logger.error("%s lost the scheduler lock; standing by", runner)
                        break
            finally:
                scheduler.shutdown(wait=True)
                _Active.runtime = None
                leadership.release()
    finally:
        if engine_worker is not None:
            engine_worker.stop()
        engine.dispose()


__all__ = ["SchedulerConflict", "run_scheduled", "run_worker"]
