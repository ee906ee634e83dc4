"""Tables of the receivers' own data: Gmail Postmaster Tools and Microsoft SNDS.

ARF complaints need no table of their own: they are ``complaint`` events
(source ``arf``) in the events store.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class ReceiverCredential(Base):
    """A credential Postwarden keeps for a receiver's API, encrypted (never stored in clear)."""

    __tablename__ = "receiver_credentials"

    # "gmail": the Postmaster Tools refresh token.
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Fernet token of the secret; the key is in the config or a 0600 key file.
    ciphertext: Mapped[str] = mapped_column(Text)
    connected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What may be shown: scopes, client id. Never the secret.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class GmailDomain(Base):
    """A monitored domain as Postmaster Tools last answered for it."""

    __tablename__ = "gmail_domains"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    # False after a PERMISSION_DENIED: not verified in Postmaster Tools for this account.
    verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # pass | error: whether the last fetch got its answers.
    status: Mapped[str] = mapped_column(String(8))
    error: Mapped[str | None] = mapped_column(Text)
    # {REQUIREMENT: {"status": "compliant"|"needs_work", "reason"}} of the last answer.
    compliance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    compliance_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GmailDay(Base):
    """One day of a domain's Postmaster Tools statistics; a stored day is not fetched again."""

    __tablename__ = "gmail_days"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # The user-reported spam rate Gmail enforces (a fraction), when Gmail gave one.
    spam_rate: Mapped[float | None] = mapped_column(Float)
    # Every metric of the day by Postwarden's name (spf_success_rate, tls_inbound_rate, …).
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SndsDay(Base):
    """One sending IP's day in Microsoft SNDS (the data CSV's row)."""

    __tablename__ = "snds_days"

    ip: Mapped[str] = mapped_column(String(45), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    activity_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    activity_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rcpt_commands: Mapped[int] = mapped_column(default=0)
    data_commands: Mapped[int] = mapped_column(default=0)
    message_recipients: Mapped[int] = mapped_column(default=0)
    # GREEN | YELLOW | RED
    filter_result: Mapped[str] = mapped_column(String(8))
    # SNDS says "< 0.1%" below its resolution: the upper bound is kept, and the text.
    complaint_rate: Mapped[float | None] = mapped_column(Float)
    complaint_text: Mapped[str] = mapped_column(String(16), default="")
    trap_hits: Mapped[int] = mapped_column(default=0)
    sample_helo: Mapped[str | None] = mapped_column(Text)
    sample_mail_from: Mapped[str | None] = mapped_column(Text)
    comments: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SndsBlock(Base):
    """A range of the sender's IPs SNDS's IP-status list says is blocked, as last fetched."""

    __tablename__ = "snds_blocks"

    first_ip: Mapped[str] = mapped_column(String(45), primary_key=True)
    last_ip: Mapped[str] = mapped_column(String(45), primary_key=True)
    blocked: Mapped[bool] = mapped_column(default=True, server_default=false())
    details: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
