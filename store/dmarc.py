"""Tables of the receivers' reports: DMARC aggregate reports and SMTP TLS reports.

Records carry their report's policy domain and first day, so the summaries
(``compliance.dmarc_reports.summary``) group and filter records without a join.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base

# SQLite only auto-increments an INTEGER PRIMARY KEY.
_ROW_ID = BigInteger().with_variant(Integer, "sqlite")


class ReceiverReport(Base):
    """One report a receiver sent: aggregate (DMARC) or tls (SMTP TLS), unique per organisation."""

    __tablename__ = "receiver_reports"
    __table_args__ = (
        UniqueConstraint("kind", "org_name", "report_id", name="uq_receiver_reports_org_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    org_name: Mapped[str] = mapped_column(String(255))
    report_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    begin: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The aggregate report's published policy (None for TLS reports).
    policy_domain: Mapped[str | None] = mapped_column(String(253), index=True)
    policy: Mapped[str | None] = mapped_column(String(16))
    subdomain_policy: Mapped[str | None] = mapped_column(String(16))
    nonexistent_policy: Mapped[str | None] = mapped_column(String(16))
    percent: Mapped[int | None]
    adkim: Mapped[str | None] = mapped_column(String(1))
    aspf: Mapped[str | None] = mapped_column(String(1))
    testing: Mapped[str | None] = mapped_column(String(1))
    discovery_method: Mapped[str | None] = mapped_column(String(16))
    generator: Mapped[str | None] = mapped_column(String(255))
    # The file (or mailbox message) it came from, for a person tracing a figure back.
    source: Mapped[str] = mapped_column(String(500))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    records: Mapped[int] = mapped_column(default=0)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)


class DmarcRecord(Base):
    """One row of an aggregate report: a source IP, a count, and how that mail authenticated."""

    __tablename__ = "dmarc_records"
    __table_args__ = (Index("ix_dmarc_records_domain_day", "policy_domain", "day"),)

    id: Mapped[int] = mapped_column(_ROW_ID, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("receiver_reports.id", ondelete="CASCADE"), index=True
    )
    policy_domain: Mapped[str] = mapped_column(String(253))
    # The UTC day the report's window begins.
    day: Mapped[date] = mapped_column(Date)
    source_ip: Mapped[str] = mapped_column(String(45))
    messages: Mapped[int] = mapped_column(BigInteger)
    disposition: Mapped[str] = mapped_column(String(16))
    # policy_evaluated: pass means the identifier passed *and* aligned.
    dkim: Mapped[str] = mapped_column(String(16))
    spf: Mapped[str] = mapped_column(String(16))
    header_from: Mapped[str | None] = mapped_column(String(253))
    envelope_from: Mapped[str | None] = mapped_column(String(253))
    # The first DKIM signature's domain, selector and result; all of them in ``dkim_all``.
    dkim_domain: Mapped[str | None] = mapped_column(String(253))
    dkim_selector: Mapped[str | None] = mapped_column(String(253))
    dkim_result: Mapped[str | None] = mapped_column(String(16))
    dkim_all: Mapped[str | None] = mapped_column(Text)
    spf_domain: Mapped[str | None] = mapped_column(String(253))
    spf_result: Mapped[str | None] = mapped_column(String(16))
    # policy_evaluated reasons (forwarded, mailing_list, local_policy…), space-separated.
    reasons: Mapped[str | None] = mapped_column(String(255))


class ReportedSelector(Base):
    """A DKIM selector receivers saw a domain sign with: feeds the DKIM check's discovery."""

    __tablename__ = "dmarc_selectors"
    __table_args__ = (UniqueConstraint("domain", "selector", name="uq_dmarc_selectors"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(253))
    selector: Mapped[str] = mapped_column(String(253))
    first_seen: Mapped[date] = mapped_column(Date)
    last_seen: Mapped[date] = mapped_column(Date)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)


class TlsPolicyResult(Base):
    """One policy of an SMTP TLS report: sessions that succeeded and failed for a policy domain."""

    __tablename__ = "tls_policy_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("receiver_reports.id", ondelete="CASCADE"), index=True
    )
    policy_domain: Mapped[str] = mapped_column(String(253), index=True)
    day: Mapped[date] = mapped_column(Date)
    policy_type: Mapped[str] = mapped_column(String(32))
    mx_host: Mapped[str | None] = mapped_column(Text)
    successful: Mapped[int] = mapped_column(BigInteger)
    failed: Mapped[int] = mapped_column(BigInteger)


class TlsFailureDetail(Base):
    """Failed sessions of one kind between a sending MTA and a receiving MX."""

    __tablename__ = "tls_failure_details"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("tls_policy_results.id", ondelete="CASCADE"), index=True
    )
    result_type: Mapped[str] = mapped_column(String(64))
    sending_mta_ip: Mapped[str | None] = mapped_column(String(45))
    receiving_mx_hostname: Mapped[str | None] = mapped_column(String(253))
    receiving_ip: Mapped[str | None] = mapped_column(String(45))
    sessions: Mapped[int] = mapped_column(BigInteger)
    reason_code: Mapped[str | None] = mapped_column(String(255))
