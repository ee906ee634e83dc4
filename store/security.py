"""What the server remembers to hold off attackers: failed logins and used webhook tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class LoginFailure(Base):
    """One wrong password (or unknown name), counted per user and per client address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class UsedWebhookToken(Base):
    """A signed webhook token already accepted: the same signature twice is a replay."""

    __tablename__ = "used_webhook_tokens"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    token: Mapped[str] = mapped_column(String(128), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
