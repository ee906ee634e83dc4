"""Tables of delivery events: the events, their daily aggregates, the imports that brought them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base

# SQLite only auto-increments an INTEGER PRIMARY KEY.
_ROW_ID = BigInteger().with_variant(Integer, "sqlite")

# The events that end consent or deliverability (and soft bounces, which share the type).
# A query reaches the partial index below only by repeating this condition word for
# word: SQLite proves a partial index usable by matching terms, not by reasoning.
EXIT_EVENTS = "events.type IN ('bounce', 'complaint', 'unsubscribe')"


class EventImport(Base):
    """One file (or webhook batch) of events, and what it brought."""

    __tablename__ = "event_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    records: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    # Event types the source sent that Postwarden does not count, by name.
    ignored: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InboxRequest(Base):
    """One webhook request's records, accepted and waiting to be imported.

    A webhook request only verifies, validates and appends here (one INSERT,
    one commit): concurrent requests then never wait on each other's upserts
    of the same daily aggregate rows. The ``ingest`` job imports what waits
    in batches and deletes it in the same transaction.
    """

    __tablename__ = "event_inbox"

    id: Mapped[int] = mapped_column(_ROW_ID, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The request's records, a JSON array, as the ESP sent them.
    records: Mapped[str] = mapped_column(Text)
    # Events among them (the ignored types not counted): how much is waiting.
    events: Mapped[int]
    # Why a later version could not import it; kept, never dropped, for a person to see.
    error: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """One normalised delivery event, unique per source and ESP event id."""

    __tablename__ = "events"
    __table_args__ = (
        # The one full index: every index slows every import (one on (day, campaign)
        # cost 2.5 s per million rows). Rates read the daily aggregates, an
        # import finds its own rows by id range, campaign statistics scan.
        UniqueConstraint("source", "event_id", name="uq_events_source_event_id"),
        # Exits only (a few percent of events): the audit looks up a recipient's first
        # exit after a re-subscription here when the rollup cannot say which it was.
        Index(
            "ix_events_exits",
            "recipient",
            "type",
            "time",
            sqlite_where=text(EXIT_EVENTS.removeprefix("events.")),
            postgresql_where=text(EXIT_EVENTS.removeprefix("events.")),
        ),
    )

    id: Mapped[int] = mapped_column(_ROW_ID, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    # sent | delivered | bounce | complaint | unsubscribe | open | click
    type: Mapped[str] = mapped_column(String(16))
    # hard | soft, for bounces
    bounce_type: Mapped[str | None] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(320))
    # gmail | yahoo | microsoft | other, from the recipient's domain
    provider: Mapped[str] = mapped_column(String(16))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The UTC day of ``time``: what the daily aggregates group by.
    day: Mapped[date] = mapped_column(Date)
    # '' when the event names no campaign (so it groups like any other).
    campaign: Mapped[str] = mapped_column(String(255), default="")
    message_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    # An open the ESP marks as made by a machine (Apple Mail Privacy Protection, scanners).
    machine: Mapped[bool] = mapped_column(default=False, server_default=false())
    import_id: Mapped[int | None] = mapped_column(ForeignKey("event_imports.id"))


class EventDay(Base):
    """Counts per UTC day, campaign and mailbox provider, kept up to date at import.

    A 30-day rate is a sum over 30 rows per group, not a scan of the events.
    """

    __tablename__ = "event_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    campaign: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)
    delivered: Mapped[int] = mapped_column(default=0)
    bounced_hard: Mapped[int] = mapped_column(default=0)
    bounced_soft: Mapped[int] = mapped_column(default=0)
    complaints: Mapped[int] = mapped_column(default=0)
    unsubscribes: Mapped[int] = mapped_column(default=0)
    opens: Mapped[int] = mapped_column(default=0)
    machine_opens: Mapped[int] = mapped_column(default=0)
    clicks: Mapped[int] = mapped_column(default=0)


COUNTERS = (
    "sent",
    "delivered",
    "bounced_hard",
    "bounced_soft",
    "complaints",
    "unsubscribes",
    "opens",
    "machine_opens",
    "clicks",
)
