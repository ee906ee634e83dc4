"""What the task engine holds (PostgreSQL): queue depth, stalled jobs, live workers, open sweeps.

Read with plain SQL from procrastinate's tables, for ``/metrics`` and the
dashboard: nothing here needs the engine's own connector. ``procrastinate
shell`` (its ``list_jobs``, ``list_queues`` commands) shows the same jobs one by
one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

# Heartbeats a worker may miss before its jobs count as stalled (as the engine's recovery).
MISSED_HEARTBEATS = 3

_JOBS = text(
    "SELECT queue_name, status::text AS status, count(*) AS jobs "
    "FROM procrastinate_jobs GROUP BY queue_name, status"
)
# The same rule as procrastinate's get_stalled_jobs: running on a worker that is gone
# or has been silent too long.
_STALLED = text(
    """
    SELECT count(*) FROM procrastinate_jobs AS job
    LEFT JOIN procrastinate_workers AS worker ON worker.id = job.worker_id
    WHERE job.status = 'doing'
      AND (worker.id IS NULL OR worker.last_heartbeat < now() - make_interval(secs => :seconds))
    """
)
_WORKERS = text(
    "SELECT count(*) FROM procrastinate_workers "
    "WHERE last_heartbeat >= now() - make_interval(secs => :seconds)"
)
_SWEEPS = text(
    "SELECT count(*) AS sweeps, coalesce(sum(chunks - chunks_done), 0) AS chunks "
    "FROM sweeps WHERE finished_at IS NULL"
)


@dataclass(frozen=True)
class EngineStatus:
    """The task engine at one moment."""

    jobs: dict[tuple[str, str], int]  # (queue, status) -> jobs
    stalled: int
    workers: int
    open_sweeps: int
    chunks_waiting: int


def engine_status(session: Session, heartbeat_seconds: float) -> EngineStatus | None:
    """The engine's figures; None on SQLite, where there is no engine."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    silent = {"seconds": heartbeat_seconds * MISSED_HEARTBEATS}
    jobs = {(row.queue_name, row.status): row.jobs for row in session.execute(_JOBS)}
    sweeps = session.execute(_SWEEPS).one()
    return EngineStatus(
        jobs=jobs,
        stalled=session.execute(_STALLED, silent).scalar_one(),
        workers=session.execute(_WORKERS, silent).scalar_one(),
        open_sweeps=sweeps.sweeps,
        chunks_waiting=int(sweeps.chunks),
    )
