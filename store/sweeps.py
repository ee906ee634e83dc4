"""Tables of distributed sweeps: a sweep, its chunks of targets, and the blocklists' shared pace.

On PostgreSQL the leader splits a sweep into chunks that every worker takes
(through the task engine). A chunk's row is what makes its recording
idempotent: a worker records a chunk only while its ``done_at`` is empty,
under a row lock, in the same transaction as its results and alerts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class Sweep(Base):
    """One planned sweep of the fleet, recorded into one check run."""

    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(primary_key=True)
    # auth_sweep | blocklist_sweep | transport_sweep (the scheduled job that planned it)
    kind: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int] = mapped_column(ForeignKey("check_runs.id", ondelete="CASCADE"))
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    chunks: Mapped[int]
    chunks_done: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SweepChunk(Base):
    """A slice of a sweep's targets, checked and recorded by one worker, once."""

    __tablename__ = "sweep_chunks"

    sweep_id: Mapped[int] = mapped_column(
        ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True
    )
    chunk: Mapped[int] = mapped_column(primary_key=True)
    # [[name, kind], ...] as planned; a target removed or paused since is skipped.
    targets: Mapped[list[Any]] = mapped_column(JSON)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # host:pid of the worker that recorded it.
    worker: Mapped[str | None] = mapped_column(String(100))


class BlocklistPace(Base):
    """Per blocklist zone, the next query slot free cluster-wide (seconds since the epoch,
    on the database's clock): workers lease slots from it so that ``queries_per_second``
    holds for all of them together."""

    __tablename__ = "blocklist_pace"

    zone: Mapped[str] = mapped_column(String(253), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Float)
