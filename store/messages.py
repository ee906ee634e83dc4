"""Audits of sent messages, one row per message, for the share of compliant campaigns over time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class MessageAudit(Base):
    """What ``audit-message`` found in one message."""

    __tablename__ = "message_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    audited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    source: Mapped[str] = mapped_column(String(1000))
    message_id: Mapped[str | None] = mapped_column(String(998))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sender: Mapped[str | None] = mapped_column(String(320))
    campaign: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(998))
    status: Mapped[str] = mapped_column(String(8))
    # {check: status}, and the codes of the other findings
    checks: Mapped[dict[str, Any]] = mapped_column(JSON)
    findings: Mapped[list[str]] = mapped_column(JSON)
    # {check: [{code, level, message, fix}]} plus "message" for the message-wide findings
    # (None on rows audited before it was kept).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
