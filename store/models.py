"""Tables: monitored targets, check runs, their results (history), latest status, listings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of every Postwarden table."""


class Domain(Base):
    """A monitored sending domain."""

    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # None: the [alerts] alert_on_warn setting decides.
    alert_on_warn: Mapped[bool | None]
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    note: Mapped[str | None] = mapped_column(Text)
    selectors: Mapped[list[DkimSelector]] = relationship(
        back_populates="domain", cascade="all, delete-orphan", order_by="DkimSelector.selector"
    )


class DkimSelector(Base):
    """A DKIM selector a monitored domain signs with."""

    __tablename__ = "dkim_selectors"
    __table_args__ = (UniqueConstraint("domain_id", "selector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    selector: Mapped[str] = mapped_column(String(255))
    domain: Mapped[Domain] = relationship(back_populates="selectors")


class SendingIp(Base):
    """A monitored sending IP address."""

    __tablename__ = "sending_ips"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(45), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    alert_on_warn: Mapped[bool | None]
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    note: Mapped[str | None] = mapped_column(Text)


class CheckRun(Base):
    """One sweep over one or more targets."""

    __tablename__ = "check_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    trigger: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    target_count: Mapped[int]
    results: Mapped[list[CheckRecord]] = relationship(
        back_populates="run", cascade="all, delete-orphan"
    )


class CheckRecord(Base):
    """The result of one check of one target in one run (the history)."""

    __tablename__ = "check_results"
    # Unique: a run holds one result per target and check, so a sweep chunk recorded
    # twice (a worker taken over) cannot store its results twice.
    __table_args__ = (
        Index("ix_check_results_target_check", "target", "check", "run_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("check_runs.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(253))
    kind: Mapped[str] = mapped_column(String(8))
    check: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    # The check's JSON object exactly as `postwarden check --format json` prints it.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    run: Mapped[CheckRun] = relationship(back_populates="results")


class TargetStatus(Base):
    """The latest status of each check of each target, and since when it holds."""

    __tablename__ = "target_status"
    __table_args__ = (UniqueConstraint("target", "check"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(253))
    kind: Mapped[str] = mapped_column(String(8))
    check: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Runs in a row that gave ``status`` (alerts wait for `confirmations`).
    consecutive: Mapped[int] = mapped_column(default=1, server_default="1")
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_run_id: Mapped[int] = mapped_column(ForeignKey("check_runs.id"))


class StatusChange(Base):
    """A check of a target changing status (or first seen): the history the dashboard shows.

    Written with the run that saw the change, so a timeline reads a handful
    of rows instead of every half-hourly run of the year.
    """

    __tablename__ = "status_changes"
    __table_args__ = (Index("ix_status_changes_target_at", "target", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(253))
    check: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    previous: Mapped[str | None] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[int] = mapped_column(ForeignKey("check_runs.id", ondelete="CASCADE"))


class ListingEpisode(Base):
    """One stretch of time a target was listed on a blocklist zone.

    Opened by the first sweep that finds the listing, closed by the first
    that finds it gone; sweeps that could not tell (error, unhealthy zone)
    change nothing. ``delisted_at - listed_at`` is how long it lasted.
    """

    __tablename__ = "blocklist_listings"
    __table_args__ = (Index("ix_blocklist_listings_open", "target", "zone", "delisted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(253))
    zone: Mapped[str] = mapped_column(String(253))
    listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delisted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    codes: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)


class ListingState(Base):
    """The latest verdict of each zone on each target, and since when it holds."""

    __tablename__ = "blocklist_state"
    __table_args__ = (UniqueConstraint("target", "zone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(253))
    zone: Mapped[str] = mapped_column(String(253))
    name: Mapped[str] = mapped_column(String(253))
    # listed | clear | error | unhealthy
    state: Mapped[str] = mapped_column(String(16))
    listed: Mapped[bool | None]
    codes: Mapped[list[str]] = mapped_column(JSON)
    meanings: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    impact: Mapped[str] = mapped_column(String(8))
    delist_url: Mapped[str | None] = mapped_column(String(500))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
