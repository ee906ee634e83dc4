"""Tables of alerting: alerts and the outbox of notifications about them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class Alert(Base):
    """A problem with one check of one target, from opening to resolution.

    ``problem`` is ``degraded`` (the check failed, or warned where warnings
    alert) or ``cannot_check`` (it stayed ``error`` too long). ``codes`` are
    the problem's keys (finding codes, listed zones) when it opened or last
    escalated; a run with new keys, or a worse severity, escalates it.
    """

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_target_check_state", "target", "check", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(253))
    kind: Mapped[str] = mapped_column(String(8))
    check: Mapped[str] = mapped_column(String(32))
    problem: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    # open | resolved
    state: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    codes: Mapped[list[str]] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))


class Notification(Base):
    """One message to one channel, kept until it is delivered (the outbox).

    ``payload`` is a snapshot of what happened, rendered per channel when
    sent; ``state`` moves pending -> sending (claimed) -> sent, or back to
    pending with a later ``next_attempt_at`` after a transient failure, or
    to failed after a permanent one.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next_attempt", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
