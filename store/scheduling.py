"""Tables of the scheduler: APScheduler's job store and the log of job runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Float, Index, LargeBinary, String, Table, Text, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base

# APScheduler 3's SQLAlchemyJobStore table, exactly as it defines it, so that
# our migrations create it and the job store finds it in place.
APSCHEDULER_JOBS = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class JobRun(Base):
    """One run of a scheduled job: when, where, and how it ended.

    A run is keyed by its job and the time it was scheduled for: a second
    scheduler firing the same occurrence cannot insert its row, so it does
    not run the job again.
    """

    __tablename__ = "job_runs"
    __table_args__ = (Index("uq_job_runs_occurrence", "job", "scheduled_for", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    # host:pid of the scheduler that ran it.
    runner: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # The occurrence this run is of (APScheduler's scheduled run time); empty
    # for runs recorded before occurrences were kept.
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # running | ok | failed | interrupted (by a new leader, which runs the job again)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
